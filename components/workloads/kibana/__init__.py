"""Kibana: component and pure renderers."""
