"""The Kubernetes target: cluster, autoscaler, compose translation (loader -> model -> transformer).

Reserved: the next systems deploy here; nothing is built yet.
"""
