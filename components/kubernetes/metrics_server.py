"""``MetricsServer``: metrics-server on a ``KubernetesCluster`` (the resource metrics API the
Horizontal and Vertical Pod Autoscalers and ``kubectl top`` read), image per minor version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from ..images import EKS_VERSIONS
from ..naming import type_token
from .cluster import KubernetesCluster
from .manifests import apply_manifests
from .render_metrics_server import render_metrics_server


@dataclass
class MetricsServerArgs:
    """Arguments of ``MetricsServer``."""

    cluster: KubernetesCluster
    replicas: int = 2


class MetricsServer(pulumi.ComponentResource):
    """metrics-server, two replicas on distinct nodes behind a PodDisruptionBudget."""

    image: str

    def __init__(self, name: str, args: MetricsServerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        image = EKS_VERSIONS[args.cluster.version].metrics_server_image
        super().__init__(type_token("MetricsServer"), name, {"image": image, "replicas": args.replicas}, opts)
        self.image = image  # after super().__init__, which turns each prop into an output attribute
        apply_manifests(
            name,
            render_metrics_server(image=self.image, replicas=args.replicas),
            pulumi.ResourceOptions(parent=self, provider=args.cluster.provider),
        )
        self.register_outputs({"image": self.image})
