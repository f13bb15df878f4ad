"""Redis: component and pure renderers."""
