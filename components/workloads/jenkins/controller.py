"""``JenkinsController``: our controller image, configured by JCasC, its home on the data volume.

**Image.** ``render_image`` writes plugins.txt and the Dockerfile; the build context is a
directory named by their content hash under ``.build/`` of the working directory (the project
directory under ``pulumi up``), and the image is built on the controller host's own daemon with
``skip_push`` and tagged ``jenkins-controller:<hash>``, as the hit counter is with
``registry.kind: none``: the host needs no registry credentials, and an unchanged plugin list is no
change at all.

**Home.** ``JENKINS_HOME`` is the host's data directory ``jenkins/home`` (the retained, encrypted
data volume, snapshotted by the stack's backups), bound with ``DockerHost.data_binds`` so nothing
starts on the root disk when the volume is missing. Replacing the controller's host keeps the
volume, and the next ``up`` attaches it to the new host: jobs, build history and the key that
derives the agents' secrets survive.

**Configuration.** ``jenkins.yaml`` lives next to the home (``jenkins/casc``, bound at
``CASC_JENKINS_CONFIG``) and is installed by ``render_prepare`` from the command's standard input
before the controller first starts, then rewritten and reloaded in place whenever it changes,
so adding an agent never restarts Jenkins. The administrator's password is a
``random.RandomPassword`` (letters and digits: it goes into a curl config line), given to the
container as ``ADMIN_PASSWORD`` (a secret of the container's state) and referenced by JCasC as
``${ADMIN_PASSWORD}``.

**Ports.** The UI (8080 in the container) is published on ``http_port`` of the host; the host's
firewall admits it only from the front and the agent hosts. No TCP agent port is published.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from ...config import Plugin
from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY
from ...images import JENKINS_IMAGE
from ...naming import type_token
from .render_casc import ADMIN_PASSWORD_VARIABLE, CascSpec, casc_document, render_casc
from .render_image import CASC_DIR, render_controller_dockerfile, render_plugins
from .render_scripts import render_fetch_secret, render_prepare

CONTAINER_PORT = 8080
HOME = "/var/jenkins_home"
BUILD_ROOT = ".build"


def write_build_context(kind: str, files: dict[str, str], root: Optional[Path] = None) -> tuple[str, str]:
    """Write ``files`` into ``<root>/.build/<kind>-<hash>/`` (once) and return (path, hash).

    The path is relative to the working directory when inside it, so plans do not depend on
    where the checkout lives; the hash names the content, so the path is stable.
    """
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    tag = digest.hexdigest()[:16]
    base = Path.cwd() if root is None else root
    directory = base / BUILD_ROOT / f"{kind}-{tag}"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    try:
        return directory.relative_to(Path.cwd()).as_posix(), tag
    except ValueError:
        return str(directory), tag


def security_summary(document: dict[str, object]) -> dict[str, object]:
    """What the rendered JCasC says about access, for the component's props (the pack reads it)."""
    jenkins = document.get("jenkins")
    assert isinstance(jenkins, dict)
    realm = jenkins.get("securityRealm")
    strategy = jenkins.get("authorizationStrategy")
    realm_name = next(iter(realm)) if isinstance(realm, dict) and realm else str(realm)
    strategy_name = next(iter(strategy)) if isinstance(strategy, dict) and strategy else str(strategy)
    anonymous = False
    if isinstance(strategy, dict) and "globalMatrix" in strategy:
        for entry in strategy["globalMatrix"].get("entries", []):
            for kind, grant in entry.items():
                if kind == "group" and grant.get("name") in {"anonymous", "authenticated"}:
                    anonymous = True
                if kind == "user" and grant.get("name") == "anonymous":
                    anonymous = True
    elif strategy_name in {"unsecured", "loggedInUsersCanDoAnything"}:
        anonymous = strategy_name == "unsecured" or bool(
            isinstance(strategy, dict) and strategy[strategy_name].get("allowAnonymousRead")
        )
    signup = bool(
        isinstance(realm, dict) and isinstance(realm.get("local"), dict) and realm["local"].get("allowsSignup")
    )
    return {
        "securityRealm": realm_name,
        "authorization": strategy_name,
        "anonymousAccess": anonymous,
        "signup": signup,
        "controllerExecutors": jenkins.get("numExecutors"),
        "csrfProtection": "crumbIssuer" in jenkins,
    }


@dataclass
class JenkinsControllerArgs:
    """Arguments of ``JenkinsController``."""

    host: DockerHost
    plugins: Sequence[Plugin]
    # The JCasC document once the public URL is known (the front's address is an output).
    casc: pulumi.Input[CascSpec]
    # A CascSpec with a placeholder URL, rendered now: the access summary and the checks do not
    # depend on the URL, and a bad spec fails before anything is registered.
    casc_preview: CascSpec = field(default_factory=lambda: CascSpec(url="https://placeholder/"))
    base_image: str = JENKINS_IMAGE
    http_port: int = CONTAINER_PORT
    protect_home: bool = False


class JenkinsController(pulumi.ComponentResource):
    """The Jenkins controller container on one host."""

    admin_password: pulumi.Output[str]
    """The administrator's password (secret)."""
    admin_user: str
    container_name: str

    def __init__(self, name: str, args: JenkinsControllerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        host = args.host
        files = {
            "Dockerfile": render_controller_dockerfile(args.base_image),
            "plugins.txt": render_plugins(args.plugins),
        }
        document = casc_document(args.casc_preview)
        props: dict[str, object] = {
            "host": host.host_name,
            "cloud": host.domain.cloud,
            "plugins": [p.spec for p in sorted(args.plugins, key=lambda p: p.name)],
            "httpPort": args.http_port,
            "home": posixpath.join(host.data_dir, "jenkins", "home"),
            "homeOnDataVolume": host.require_data_mount,
            "protectHome": args.protect_home,
            **security_summary(document),
        }
        super().__init__(type_token("JenkinsController"), name, props, opts)
        self.admin_user = args.casc_preview.admin_user
        self.container_name = f"{name}-controller"
        self.host = host
        self.http_port = args.http_port
        context, tag = write_build_context("jenkins-controller", files)

        password = random.RandomPassword(
            f"{name}-admin-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        self.admin_password = pulumi.Output.secret(password.result)

        image = docker.Image(
            f"{name}-image",
            image_name=f"jenkins-controller:{tag}",
            build=docker.DockerBuildArgs(context=context),
            skip_push=True,
            opts=host.docker_opts(self),
        )
        home_dir = posixpath.join(host.data_dir, "jenkins", "home")
        casc_dir = posixpath.join(host.data_dir, "jenkins", "casc")
        data = host.data_binds(f"{name}-dirs", self, [(home_dir, HOME), (casc_dir, CASC_DIR)])
        casc_text = pulumi.Output.from_input(args.casc).apply(render_casc)
        self.casc = casc_text
        # Installs jenkins.yaml (and owns the home) before the first start; again, with a reload,
        # whenever the document changes. Its hash is the trigger: the text arrives on stdin.
        self.prepare = host.run(
            f"{name}-casc",
            render_prepare(
                image=f"jenkins-controller:{tag}",
                controller=self.container_name,
                home_dir=home_dir,
                casc_dir=casc_dir,
                admin_user=self.admin_user,
                port=CONTAINER_PORT,
            ),
            self,
            triggers=[casc_text.apply(lambda t: hashlib.sha256(t.encode()).hexdigest()), tag, *host.data_identity],
            depends_on=[image, *data.ready],
            stdin=casc_text,
        )
        health = f"curl -fsS -o /dev/null http://127.0.0.1:{CONTAINER_PORT}/login"
        self.container = docker.Container(
            self.container_name,
            name=self.container_name,
            image=image.image_name,
            envs=[pulumi.Output.concat(f"{ADMIN_PASSWORD_VARIABLE}=", self.admin_password)],
            mounts=data.mounts,
            volumes=data.volumes,
            ports=[docker.ContainerPortArgs(internal=CONTAINER_PORT, external=args.http_port)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", health], interval="15s", timeout="5s", start_period="120s", retries=4
            ),
            wait=True,
            wait_timeout=600,
            hosts=[LOCAL_GATEWAY] if host.is_local else None,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions.merge(
                host.docker_opts(self, depends_on=[self.prepare, *data.ready]),
                pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
            ),
        )
        self.register_outputs({**props, "casc": self.casc})

    def agent_secret(self, node: str) -> pulumi.Output[str]:
        """``node``'s inbound secret, fetched on the controller's host once it is up (secret).

        Re-fetched only when the node or the controller container changes; the value is
        derived from the node name and the key in the home, so a re-fetch is the same secret.
        """
        fetch = self.host.run(
            f"{self.container_name}-secret-{node}",
            render_fetch_secret(
                controller=self.container_name, node=node, admin_user=self.admin_user, port=CONTAINER_PORT
            ),
            self,
            triggers=[node, self.container.id],
            depends_on=[self.container, self.prepare],
            secret_stdout=True,
        )
        return pulumi.Output.secret(fetch.stdout)
