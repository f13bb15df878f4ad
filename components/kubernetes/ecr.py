"""Images the cluster's nodes pull: built where ``pulumi up`` runs, pushed to an ECR repository.

``push_to_ecr`` makes, as children of the caller (so its resources keep the caller's names):

* ``<name>-repo``: an ECR repository ``<project>-<stack>/<repository>``, tags immutable and
  scanned on push;
* ``<name>-image``: a ``docker.Image`` built for ``linux/amd64`` (the node groups' instance
  types are x86) and pushed with an ECR authorization token (a secret).

It returns the pushed ``repo_digest`` (``<repo>@sha256:...``): workloads run the digest, so a
rebuild rolls the pods and nothing floats. The nodes pull with their role's
AmazonEC2ContainerRegistryReadOnly policy (``cluster.py``); no pull secret exists.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from ..hosts.placement import BUILD_PLATFORM, build_context
from ..naming import sanitized_name
from .cluster import KubernetesCluster


def push_to_ecr(
    name: str,
    parent: pulumi.Resource,
    cluster: KubernetesCluster,
    *,
    repository: str,
    tag: str,
    context: Path,
    dockerfile: Path,
) -> pulumi.Output[str]:
    """Build ``dockerfile`` with ``context`` and push it as ``<repository>:<tag>``; the digest."""
    aws_child = pulumi.ResourceOptions(parent=parent, provider=cluster.aws_provider)
    repo = aws.ecr.Repository(
        f"{name}-repo",
        name=f"{sanitized_name(pulumi.get_project(), pulumi.get_stack())}/{repository}",
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        opts=aws_child,
    )
    token = aws.ecr.get_authorization_token_output(
        registry_id=repo.registry_id, opts=pulumi.InvokeOptions(parent=parent, provider=cluster.aws_provider)
    )
    pushed = docker.Image(
        f"{name}-image",
        image_name=pulumi.Output.concat(repo.repository_url, f":{tag}"),
        build=docker.DockerBuildArgs(
            context=build_context(context), dockerfile=build_context(dockerfile), platform=BUILD_PLATFORM
        ),
        registry=docker.RegistryArgs(
            server=repo.repository_url, username=token.user_name, password=pulumi.Output.secret(token.password)
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pushed.repo_digest
