"""Workloads: one folder per technology, each a component on ``DockerHost`` handles plus its pure
renderers (``render_*.py``, which import no Pulumi and are tested against the real validator)."""
