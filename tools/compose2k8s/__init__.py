"""``python -m tools.compose2k8s``: compose files -> Kubernetes YAML, the way ``kompose convert`` does."""

from .cli import main, render

__all__ = ["main", "render"]
