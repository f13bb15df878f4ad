"""``HitCounterOnCluster``: the hit counter on a Kubernetes cluster, from its compose file.

The same app as ``HitCounterApp`` runs on Docker hosts, described once in
``apps/hitcounter/compose.yaml`` and translated by ``ComposeApp`` (the compose -> Kubernetes
translator): a Deployment (uid 10001, read-only root, capabilities dropped, liveness and
readiness on ``/healthcheck``), a ClusterIP Service, the Secret ``mongo-url`` (the connection
string, secret end to end) and the ConfigMap ``mongo-ca`` (the replica set's CA certificate).
Around it:

* the image, built from ``apps/hitcounter`` and pushed to an ECR repository of the stack
  (``push_to_ecr``); the Deployment runs the pushed digest;
* a HorizontalPodAutoscaler (autoscaling/v2) between ``replicas`` and ``max_replicas`` on the
  pods' average CPU utilization (a percentage of their CPU request, 100m in the compose file;
  metrics-server provides the numbers), the Deployment leaving ``spec.replicas`` to it;
* a PodDisruptionBudget keeping all but one pod through node drains (the autoscaler removing
  an idle node, a node group upgrade).

The Service stays inside the cluster (least exposure): ``kubectl port-forward`` reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi

from ...apps import app_dir
from ...kubernetes.cluster import KubernetesCluster
from ...kubernetes.compose.app import ComposeApp, ComposeAppArgs
from ...kubernetes.ecr import push_to_ecr
from ...naming import type_token
from .app import REPOSITORY, app_content_hash

APP_DIR = app_dir("hitcounter")
COMPOSE_FILE = APP_DIR / "compose.yaml"
# The compose service, and the names compose.yaml gives the connection string and the CA.
SERVICE = "web"
MONGO_URL_SECRET = "mongo-url"
MONGO_CA_CONFIG = "mongo-ca"


@dataclass
class HitCounterOnClusterArgs:
    """Arguments of ``HitCounterOnCluster``."""

    cluster: KubernetesCluster
    # The MongoDB connection string (secret) and the members' CA certificate (PEM).
    mongo_url: pulumi.Input[str]
    mongo_ca_certificate: pulumi.Input[str]
    namespace: str = "hitcounter"
    replicas: int = 2
    max_replicas: int = 6
    cpu_percent: int = 70
    app_dir: Path = APP_DIR


class HitCounterOnCluster(pulumi.ComponentResource):
    """The hit counter translated from compose onto a cluster, autoscaled, with a disruption budget."""

    image_name: pulumi.Output[str]

    def __init__(self, name: str, args: HitCounterOnClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        if args.replicas < 2:
            raise ValueError(f"at least 2 replicas so that a drained node leaves one serving; got {args.replicas}")
        if args.max_replicas < args.replicas:
            raise ValueError(f"max_replicas ({args.max_replicas}) below replicas ({args.replicas})")
        props = {
            "namespace": args.namespace,
            "replicas": args.replicas,
            "maxReplicas": args.max_replicas,
            "cpuPercent": args.cpu_percent,
            "clusterName": args.cluster.cluster_name,
        }
        super().__init__(type_token("HitCounterOnCluster"), name, props, opts)
        self.image_name = push_to_ecr(
            name,
            self,
            args.cluster,
            repository=REPOSITORY,
            tag=app_content_hash(args.app_dir)[:16],
            context=args.app_dir,
            dockerfile=args.app_dir / "Dockerfile",
        )
        app = ComposeApp(
            f"{name}-app",
            ComposeAppArgs(
                files=[args.app_dir / COMPOSE_FILE.name],
                namespace=args.namespace,
                create_namespace=True,
                secrets={MONGO_URL_SECRET: pulumi.Output.secret(args.mongo_url)},
                configs={MONGO_CA_CONFIG: args.mongo_ca_certificate},
                images={SERVICE: self.image_name},
                autoscaled=[SERVICE],
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.cluster.provider),
        )
        app.add_autoscaler(
            SERVICE, min_replicas=args.replicas, max_replicas=args.max_replicas, cpu_percent=args.cpu_percent
        )
        app.add_disruption_budget(SERVICE, max_unavailable=1)
        self.service = f"{args.namespace}/{SERVICE}"
        self.register_outputs({**props, "imageName": self.image_name, "service": self.service})
