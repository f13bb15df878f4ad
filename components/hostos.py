"""The host operating systems: what each RancherOS-family release can and cannot do.

Plain data with its public sources, no Pulumi: the config check refuses a combination that
cannot work before any resource is registered, the clouds pick images, and the cloud-config pins
the Docker engine.

* **BurmillaOS** (default), the community-maintained RancherOS-compatible successor: same ``ros``
  tool, cloud-config and ``rancher`` user. v2.0.5 is the newest stable tag (burmilla/os tag
  v2.0.5, commit bbf9c11e). Its release tooling publishes only an ISO, initrd, vmlinuz and
  rootfs (burmilla/os ``scripts/release-amd64`` lines 12-27): no AMI, GCE tarball or DigitalOcean
  image (declined in burmilla/os issues #55, #74, #114), so each cloud's image is one you build
  and name in the stack config. The Docker engine is chosen by ``rancher.docker.engine`` from
  burmilla/os-services ``index.yml`` and pulled at first boot; ``latest`` has been seen to fail
  (burmilla/os issue #218), so it is pinned. Every engine listed there is Docker >= 20.10.23,
  whose runc answers ``clone3`` with ENOSYS, so current glibc images start threads.
* **RancherOS** v1.5.8 (rancher/os, end of life): Docker 19.03.15 with runc 1.0.0-rc10, whose
  default seccomp profile answers ``clone3`` with EPERM; glibc >= 2.34 then fails
  ``pthread_create`` (moby/moby issue #42680). Kept for fidelity with the original deployments,
  with images that predate glibc 2.34 only.

Neither OS reads EC2 metadata with IMDSv2 tokens: both EC2 datasources issue plain GETs with no
``X-aws-ec2-metadata-token`` header (``config/cloudinit/datasource/metadata/ec2/metadata.go``
lines 47-52 in burmilla/os v2.0.5; byte-identical in rancher/os v1.5.8 but for import paths).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

HostOsName = Literal["burmillaos", "rancheros"]


@dataclass(frozen=True)
class HostOsRelease:
    """One release of a RancherOS-family OS and the facts the program depends on."""

    name: HostOsName
    title: str
    version: str
    # ``rancher.docker.engine`` to pin in cloud-config; None keeps the OS's built-in engine.
    docker_engine: Optional[str]
    docker_version: str
    # runc answers clone3 with ENOSYS (glibc >= 2.34 images can start threads).
    runs_glibc_234: bool
    # The EC2 datasource fetches user data and keys with IMDSv2 tokens.
    reads_imdsv2: bool


BURMILLAOS = HostOsRelease(
    name="burmillaos",
    title="BurmillaOS",
    version="v2.0.5",
    # burmilla/os-services index.yml (v2.0.x branch, commit 3613d553): the newest listed engine,
    # d/docker-29.8.2.yml -> burmilla/os-docker:29.8.2, Docker's static 29.8.2 build.
    docker_engine="docker-29.8.2",
    docker_version="29.8.2",
    runs_glibc_234=True,
    reads_imdsv2=False,
)
RANCHEROS = HostOsRelease(
    name="rancheros",
    title="RancherOS",
    version="v1.5.8",
    docker_engine=None,
    docker_version="19.03.15",
    runs_glibc_234=False,
    reads_imdsv2=False,
)
# RancherOS's published images (rancher/os README, "Amazon", "Google Compute Engine" and
# "DigitalOcean" sections): AMIs of account 605812595337 named rancheros-<version>-hvm-*, and
# release files on releases.rancher.com / its GCS bucket. AMIs older than two years are
# deprecated, which hides them from DescribeImages unless IncludeDeprecated is set.
RANCHEROS_AMI_OWNER = "605812595337"
RANCHEROS_GCE_IMAGE_URL = "https://storage.googleapis.com/releases.rancher.com/os/{version}/rancheros-gce.tar.gz"
RANCHEROS_DO_IMAGE_URL = "https://releases.rancher.com/os/{version}/rancheros-digitalocean.img"

RELEASES: dict[str, HostOsRelease] = {BURMILLAOS.name: BURMILLAOS, RANCHEROS.name: RANCHEROS}

# Images built on glibc >= 2.34 (repository:tag patterns), with where that is stated. An image
# not matched here is not known to be affected; its maintainer's base image decides.
GLIBC_234_IMAGES: tuple[tuple[str, str], ...] = (
    (r"mongo:7\.0(\.|$)", "mongo:7.0 is built FROM ubuntu:jammy (glibc 2.35), docker-library/mongo versions.json"),
    (r"mongo:8(\.|$)", "mongo:8.x is built FROM ubuntu:noble (glibc 2.39), docker-library/mongo versions.json"),
    (r"node:\d+(\.\d+)*-(bookworm|trixie)", "node:*-bookworm/trixie is Debian 12/13 (glibc >= 2.36), docker-node"),
    (r"haproxy:(3|2\.9)(\.|$)", "haproxy:2.9 and 3.x are on Debian 12/13 (glibc >= 2.36), docker-library/haproxy"),
    (r"python:3\.\d+(\.\d+)?-slim", "python:3.x-slim is Debian 12 or 13 (glibc >= 2.36), docker-library/python"),
    (r"python:3\.\d+(\.\d+)?-(bookworm|trixie)", "python:3.x-bookworm/trixie is Debian 12/13 (glibc >= 2.36), docker-library/python"),  # noqa: E501
)


def glibc_234_reason(image: str) -> Optional[str]:
    """Why ``image`` needs a runc that handles clone3, or None when it is not known to."""
    for pattern, reason in GLIBC_234_IMAGES:
        if re.match(pattern, image):
            return reason
    return None
