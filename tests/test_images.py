"""Every image the stacks run names an explicit tag or digest, never ``latest`` or none at all:
a floating tag changes a running cluster under a redeploy, and is not what was tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rancher_stacks.config import (
    CiWorkload,
    DatabaseWorkload,
    GameWorkload,
    LoadBalancerWorkload,
    LoggingImages,
    StorageWorkload,
)
from rancher_stacks.images import (
    DIND_IMAGE,
    GLUSTER_IMAGE,
    HAPROXY_IMAGE,
    JENKINS_AGENT_IMAGE,
    JENKINS_IMAGE,
    MONGO_IMAGE,
    NODE_IMAGE,
)
from tools.plan import plan_stack

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(
    r"^[a-z0-9][a-z0-9./_-]*((:(?!latest(@|$))[A-Za-z0-9._-]+)(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$"
)


# An exact release: a tag that starts with a full x.y.z version (Kubernetes projects write vX.Y.Z) (``mongo:7.0.37``,
# ``node:22.23.2-bookworm-slim``), or a digest. A minor tag such as ``mongo:7.0`` moves.
EXACT = re.compile(r"^[a-z0-9][a-z0-9./_-]*(:v?\d+\.\d+\.\d+[A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})?|(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64})$")
# Named builds whose project publishes no release tags (rancher_stacks.images says why), and the
# inbound agent, whose release is remoting's build number plus the image build (exact too).
NAMED_BUILDS = {GLUSTER_IMAGE, JENKINS_AGENT_IMAGE}


def test_the_pattern_tells_pinned_from_floating() -> None:
    assert PINNED.match("mongo:7.0") and PINNED.match("gluster/gluster-centos:gluster4u0_centos7")
    assert PINNED.match("haproxy@sha256:" + "a" * 64) and PINNED.match("r.example/app:1a2b@sha256:" + "b" * 64)
    for floating in ("mongo", "mongo:latest", "gluster/gluster-centos:latest", "registry.example/x",
                     "x:latest@sha256:" + "c" * 64):
        assert not PINNED.match(floating), floating


def config_defaults() -> list[str]:
    return [
        StorageWorkload.model_fields["image"].default,
        GameWorkload.model_fields["node_image"].default,
        DatabaseWorkload.model_fields["image"].default,
        LoadBalancerWorkload.model_fields["image"].default,
        *(field.default for field in LoggingImages.model_fields.values()),
        CiWorkload.model_fields["controller_image"].default,
        CiWorkload.model_fields["agent_image"].default,
        CiWorkload.model_fields["dind_image"].default,
    ]


def dockerfile_bases() -> list[str]:
    bases = []
    for dockerfile in sorted((ROOT / "apps").glob("*/Dockerfile")):
        text = dockerfile.read_text()
        args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
        for image in re.findall(r"^FROM\s+(\S+)", text, re.M):
            bases.append(re.sub(r"\$\{(\w+)\}", lambda m, args=args: args.get(m.group(1), m.group(0)), image))
    assert bases
    return bases


@pytest.mark.parametrize("stack", sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")))
def test_every_image_the_stacks_run_is_pinned(stack: str) -> None:
    plan = plan_stack(ROOT / f"Pulumi.{stack}.yaml")
    images = [r["inputs"]["name"] for r in plan["resources"] if r["type"] == "docker:index/remoteImage:RemoteImage"]
    # The images we build FROM (the Jenkins controller and agent, from their rendered Dockerfiles).
    for r in plan["resources"]:
        if r["type"] == "docker:index/image:Image" and r["inputs"]["imageName"].startswith("jenkins-"):
            text = (ROOT / r["inputs"]["build"]["context"] / "Dockerfile").read_text()
            images += [m.split()[0] for m in re.findall(r"^FROM\s+(.+)$", text, re.M)]
    images += [r["inputs"]["build"]["args"]["NODE_IMAGE"] for r in plan["resources"]
               if r["type"] == "docker:index/image:Image" and "NODE_IMAGE" in r["inputs"]["build"].get("args", {})]
    # ... and what the stack runs on Kubernetes (the Deployments' containers).
    images += [c["image"] for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"
               for c in r["inputs"]["spec"]["template"]["spec"]["containers"]]
    assert images
    assert [i for i in images + config_defaults() + dockerfile_bases() if not PINNED.match(i)] == []
    # Our defaults go further: exact releases, not minor tags.
    inexact = [i for i in images + config_defaults() + dockerfile_bases() if not EXACT.match(i) and i not in NAMED_BUILDS]
    assert inexact == []


def test_exact_means_a_full_version_or_a_digest() -> None:
    assert EXACT.match(MONGO_IMAGE) and EXACT.match(HAPROXY_IMAGE) and EXACT.match(NODE_IMAGE)
    assert EXACT.match(JENKINS_IMAGE) and EXACT.match(DIND_IMAGE)
    assert re.match(r"^jenkins/inbound-agent:\d+\.v[0-9a-f_]+-\d+-jdk21$", JENKINS_AGENT_IMAGE)
    assert EXACT.match("haproxy@sha256:" + "a" * 64) and EXACT.match("python:3.12.13-slim-bookworm")
    assert EXACT.match("registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2")
    assert not EXACT.match("registry.k8s.io/autoscaling/cluster-autoscaler:v1.35")
    for moving in ("mongo:7.0", "node:22-bookworm-slim", "python:3.12-slim", "haproxy:3"):
        assert not EXACT.match(moving), moving
