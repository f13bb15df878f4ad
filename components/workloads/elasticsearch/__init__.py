"""Elasticsearch: component and pure renderers."""
