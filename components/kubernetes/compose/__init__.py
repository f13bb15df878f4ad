"""Compose -> Kubernetes: loader (compose files -> :mod:`model`) -> :mod:`transformer` (plain manifests).

Pure: no Pulumi here. Front ends: ``ComposeApp`` (``rancher_stacks.kubernetes.compose.app``,
Pulumi resources) and the CLI ``python -m tools.compose2k8s``.
"""

from .errors import ComposeError, Location
from .loader import Source, load_project
from .model import Project, Service
from .transformer import (
    Options,
    Translation,
    file_name,
    horizontal_pod_autoscaler,
    pod_disruption_budget,
    resource_name,
    transform,
)

__all__ = [
    "ComposeError",
    "Location",
    "Options",
    "Project",
    "Service",
    "Source",
    "Translation",
    "file_name",
    "horizontal_pod_autoscaler",
    "load_project",
    "pod_disruption_budget",
    "resource_name",
    "transform",
]
