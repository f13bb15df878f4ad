"""The flow scheduler's Kubernetes manifests (``render_manifests``): what the Kubernetes target
deploys when ``kubernetes.flowScheduler`` is on."""
