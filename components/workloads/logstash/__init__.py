"""Logstash: component and pure renderers."""
