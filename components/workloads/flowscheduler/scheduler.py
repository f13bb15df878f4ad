"""``FlowScheduler``: the flow scheduler (``apps/flow-scheduler``) deployed on a ``KubernetesCluster``.

The image has to live in a registry the nodes can pull from. Two ways, by config:

* ``kubernetes.flowSchedulerImage`` set: that pinned reference is used as is (an image you
  publish yourself; the nodes must be able to pull it);
* unset (the default): an ECR repository of the stack (tags immutable, scanned on push) and a
  ``docker.Image`` that builds ``apps/flow-scheduler/Dockerfile`` with the repository root as
  context (the image ships ``rancher_stacks.placement``) on the machine running ``pulumi up``
  and pushes it with an ECR authorization token. The Deployment runs the pushed digest, so a
  rebuild rolls the pods and nothing floats. The nodes pull through their role's
  AmazonEC2ContainerRegistryReadOnly policy; no pull secret exists.

The manifests are ``render_manifests``'s (validated in tests); the renderer checks the image is
pinned, and since the pushed digest is only known at deploy time, it renders with the pinned tag
and the container's image is then set to the digest output.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi

from ...apps import APPS_DIR
from ...hosts.placement import context_digest
from ...kubernetes.cluster import KubernetesCluster
from ...kubernetes.ecr import push_to_ecr
from ...kubernetes.manifests import apply_manifests
from ...naming import type_token
from .render_manifests import render_manifests

REPOSITORY = "flow-scheduler"
# Its Dockerfile, relative to the build context (the repository root).
DOCKERFILE = "apps/flow-scheduler/Dockerfile"


def sources_hash(root: Path) -> str:
    """A sha256 over what the image is built from: the files the root .dockerignore admits and
    the Dockerfile (``context_digest``)."""
    return context_digest(root, DOCKERFILE)


@dataclass
class FlowSchedulerArgs:
    """Arguments of ``FlowScheduler``."""

    cluster: KubernetesCluster
    # A pinned image reference; None: build and push to an ECR repository of the stack.
    image: Optional[str] = None
    repository_root: Path = APPS_DIR.parent
    replicas: int = 2


class FlowScheduler(pulumi.ComponentResource):
    """The ``rancher-stacks-flow`` scheduler: ServiceAccount, least RBAC, Deployment x2, PDB."""

    image_name: pulumi.Output[str]

    def __init__(self, name: str, args: FlowSchedulerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        tag = sources_hash(args.repository_root)[:16] if args.image is None else None
        super().__init__(
            type_token("FlowScheduler"),
            name,
            {"replicas": args.replicas, "imageSource": args.image or "ecr", "clusterName": args.cluster.cluster_name},
            opts,
        )
        if args.image is not None:
            self.image_name = pulumi.Output.from_input(args.image)
            pinned = args.image
        else:
            self.image_name = push_to_ecr(
                name,
                self,
                args.cluster,
                repository=REPOSITORY,
                tag=tag or "",
                context=args.repository_root,
                dockerfile=args.repository_root / DOCKERFILE,
            )
            pinned = f"{REPOSITORY}:{tag}"
        manifests = render_manifests(image=pinned, replicas=args.replicas)
        manifests = [_with_image(m, self.image_name) for m in manifests]
        apply_manifests(name, manifests, pulumi.ResourceOptions(parent=self, provider=args.cluster.provider))
        self.register_outputs({"imageName": self.image_name})


def _with_image(manifest: dict[str, Any], image: pulumi.Input[str]) -> dict[str, Any]:
    """``manifest`` with every container of a Deployment running ``image``."""
    if manifest["kind"] != "Deployment":
        return manifest
    out = copy.deepcopy(manifest)
    for container in out["spec"]["template"]["spec"]["containers"]:
        container["image"] = image
    return out
