"""The controller's and the agents' images: ``plugins.txt`` and two Dockerfiles (pure).

**Controller.** ``FROM`` the pinned ``jenkins/jenkins`` LTS (JDK 21). The plugins are installed at
build time with the image's ``jenkins-plugin-cli --plugin-file`` into ``/usr/share/jenkins/ref``,
from which the image's start script copies them into ``JENKINS_HOME`` (jenkinsci/docker
README, "Preinstalling plugins"). Every plugin is pinned ``name:version``. The setup wizard is off
(``-Djenkins.install.runSetupWizard=false``, same README) because JCasC configures everything,
and ``CASC_JENKINS_CONFIG`` names the directory the deployment binds the JCasC file into
(configuration-as-code-plugin README, "Getting started": a file, a directory or a URL).

**Agent.** ``FROM`` the pinned ``jenkins/inbound-agent`` (JDK 21), plus the static ``docker`` CLI
copied from the pinned ``docker:dind`` image (docker-library/docker ``29/cli/Dockerfile``
installs it from download.docker.com's static tarball at ``/usr/local/bin/docker``), so the
pipelines' ``sh 'docker ...'`` steps talk to the dind sidecar. It stays the image's ``jenkins``
user: it needs no root, the daemon is the sidecar's.
"""

from __future__ import annotations

import re
from typing import Sequence

from ...config import Plugin, parse_plugin

__all__ = ["Plugin", "parse_plugin", "render_agent_dockerfile", "render_controller_dockerfile", "render_plugins"]

# An image reference pinned to a tag (or digest), never floating.
_PINNED_IMAGE = re.compile(r"^[a-z0-9][a-z0-9./_-]*(:[A-Za-z0-9][A-Za-z0-9._-]*)?(@sha256:[0-9a-f]{64})?$")

CASC_DIR = "/var/jenkins_casc"
PLUGINS_PATH = "/usr/share/jenkins/ref/plugins.txt"


def _check_image(image: str) -> None:
    if not _PINNED_IMAGE.match(image) or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
        raise ValueError(f"image {image!r} must be pinned to a tag or digest")
    if image.rsplit("/", 1)[-1].split("@")[0].endswith(":latest"):
        raise ValueError(f"image {image!r}: 'latest' is not a pinned tag")


def render_plugins(plugins: Sequence[Plugin]) -> str:
    """``plugins.txt``: one ``name:version`` a line, sorted, each plugin once."""
    names = [p.name for p in plugins]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"plugins listed twice: {', '.join(repeated)}")
    if not plugins:
        raise ValueError("the controller needs at least the configuration-as-code plugin")
    header = "# Rendered by rancher-stacks (workloads/jenkins/render_image.py): pinned plugins.\n"
    return header + "".join(f"{p.spec}\n" for p in sorted(plugins, key=lambda p: p.name))


def render_controller_dockerfile(base_image: str) -> str:
    """The controller's Dockerfile; its build context holds ``plugins.txt`` next to it."""
    _check_image(base_image)
    return "\n".join(
        [
            "# Rendered by rancher-stacks (workloads/jenkins/render_image.py); do not edit by hand.",
            f"FROM {base_image}",
            "",
            "# JCasC configures everything, so the setup wizard never runs.",
            'ENV JAVA_OPTS="-Djenkins.install.runSetupWizard=false" \\',
            f"    CASC_JENKINS_CONFIG={CASC_DIR}",
            "",
            f"COPY --chown=1000:1000 plugins.txt {PLUGINS_PATH}",
            f"RUN jenkins-plugin-cli --plugin-file {PLUGINS_PATH}",
            "",
            "# The image's jenkins user (jenkinsci/docker: uid 1000), numeric so the host can resolve it.",
            "USER 1000:1000",
            "",
        ]
    )


def render_agent_dockerfile(agent_image: str, dind_image: str) -> str:
    """The agent's Dockerfile: the inbound agent plus the docker CLI of the dind image."""
    _check_image(agent_image)
    _check_image(dind_image)
    return "\n".join(
        [
            "# Rendered by rancher-stacks (workloads/jenkins/render_image.py); do not edit by hand.",
            f"FROM {dind_image} AS docker-cli",
            "",
            f"FROM {agent_image}",
            "# The static docker CLI only; the daemon is the dind sidecar (DOCKER_HOST=tcp://docker:2376).",
            "COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker",
            "# The image's jenkins user (jenkinsci/docker-agent: uid 1000).",
            "USER 1000:1000",
            "",
        ]
    )
