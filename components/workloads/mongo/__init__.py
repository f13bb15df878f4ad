"""MongoDB: a TLS replica set with keyfile auth (``replicaset``), its private CA (``pki``) and
its entrypoint and reconciler scripts (``render_scripts``)."""
