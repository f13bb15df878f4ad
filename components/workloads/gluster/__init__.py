"""GlusterFS: a replicated volume, one server container and brick per host (``cluster``), and its
idempotent bootstrap script (``render_bootstrap``)."""
