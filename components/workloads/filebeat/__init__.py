"""Filebeat: component and pure renderers."""
