"""The provider-neutral network model: the port catalog, firewall rules and their sources."""
