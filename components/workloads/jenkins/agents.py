"""``JenkinsAgent``: one inbound agent and its Docker-in-Docker daemon on one host.

Per host, on a user-defined bridge network of its own (``<name>-net``):

* **dind** (``docker:<version>-dind``): the only privileged container of the CI system (a Docker
  daemon needs it; docker-library/docs ``docker/content.md``). ``DOCKER_TLS_CERTDIR=/certs``
  makes the image generate a CA, a server and a client certificate and listen on 2376 with TLS
  only (docker-library/docker ``29/dind/dockerd-entrypoint.sh``); the client half
  (``/certs/client``) is a named volume. The container is aliased ``docker`` on the network and
  publishes nothing, so 2376 never leaves the host (and never reaches the firewall).
* **agent** (our image: ``jenkins/inbound-agent`` plus the docker CLI, built on the host's daemon):
  ``DOCKER_HOST=tcp://docker:2376``, ``DOCKER_TLS_VERIFY=1``, ``DOCKER_CERT_PATH=/certs/client``
  with the client certificates mounted read-only (the pattern of jenkins.io's "Installing Jenkins
  / Docker", with the agent in the Jenkins container's place). It connects to the controller over
  WebSocket (``JENKINS_WEB_SOCKET=true``, jenkinsci/docker-agent ``jenkins-agent``) through the
  controller's HTTP port, as node ``<host name>``; the node's secret, fetched from the controller
  (``JenkinsController.agent_secret``), is uploaded as a file and passed as ``-secret @<file>``:
  the image's ``jenkins-agent`` script hands ``JENKINS_SECRET`` to ``-secret`` verbatim, and
  remoting parses its arguments with args4j (``Launcher.java``: ``new CmdLineParser(launcher)``,
  jenkinsci/remoting fa5f12a8), whose ``@file`` syntax replaces the argument by the file's lines;
  Jenkins' own agent page shows the same ``-secret @secret-file``. So the secret is neither in
  the container's environment nor on a command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY
from ...images import DIND_IMAGE, JENKINS_AGENT_IMAGE
from ...naming import type_token
from .controller import write_build_context
from .render_casc import AGENT_REMOTE_FS
from .render_image import render_agent_dockerfile
from .render_scripts import agent_environment

DIND_ALIAS = "docker"
DIND_PORT = 2376
CERTS_CLIENT = "/certs/client"
SECRET_FILE = "/home/jenkins/.agent-secret"


@dataclass
class JenkinsAgentArgs:
    """Arguments of ``JenkinsAgent``."""

    host: DockerHost
    node: str
    # http://<controller>:<port>/ as this host reaches it.
    controller_url: pulumi.Input[str]
    secret: pulumi.Input[str]
    agent_image: str = JENKINS_AGENT_IMAGE
    dind_image: str = DIND_IMAGE


class JenkinsAgent(pulumi.ComponentResource):
    """An inbound Jenkins agent with a TLS-only Docker-in-Docker sidecar on one host."""

    def __init__(self, name: str, args: JenkinsAgentArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        host = args.host
        props = {
            "host": host.host_name,
            "node": args.node,
            "dockerHost": f"tcp://{DIND_ALIAS}:{DIND_PORT}",
            "webSocket": True,
        }
        super().__init__(type_token("JenkinsAgent"), name, props, opts)
        context, tag = write_build_context(
            "jenkins-agent", {"Dockerfile": render_agent_dockerfile(args.agent_image, args.dind_image)}
        )
        network = docker.Network(f"{name}-net", name=f"{name}-net", driver="bridge", opts=host.docker_opts(self))
        certs = docker.Volume(f"{name}-certs", name=f"{name}-certs", opts=host.docker_opts(self))
        dind_image = docker.RemoteImage(
            f"{name}-dind-image", name=args.dind_image, keep_locally=True, opts=host.docker_opts(self)
        )
        self.dind = docker.Container(
            f"{name}-dind",
            name=f"{name}-dind",
            image=dind_image.image_id,
            privileged=True,
            envs=["DOCKER_TLS_CERTDIR=/certs"],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=[DIND_ALIAS])],
            volumes=[docker.ContainerVolumeArgs(volume_name=certs.name, container_path=CERTS_CLIENT)],
            restart="unless-stopped",
            opts=pulumi.ResourceOptions.merge(
                host.docker_opts(self), pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        image = docker.Image(
            f"{name}-image",
            image_name=f"jenkins-agent:{tag}",
            build=docker.DockerBuildArgs(context=context),
            skip_push=True,
            opts=host.docker_opts(self),
        )
        self.agent = docker.Container(
            f"{name}-agent",
            name=f"{name}-agent",
            image=image.image_name,
            envs=pulumi.Output.from_input(args.controller_url).apply(
                lambda url: agent_environment(
                    controller_url=url,
                    node=args.node,
                    secret_file=SECRET_FILE,
                    workdir=AGENT_REMOTE_FS,
                    docker_host=f"tcp://{DIND_ALIAS}:{DIND_PORT}",
                    cert_path=CERTS_CLIENT,
                )
            ),
            uploads=[
                docker.ContainerUploadArgs(
                    file=SECRET_FILE, content=pulumi.Output.secret(args.secret), permissions="0444"
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
            volumes=[docker.ContainerVolumeArgs(volume_name=certs.name, container_path=CERTS_CLIENT, read_only=True)],
            init=True,
            hosts=[LOCAL_GATEWAY] if host.is_local else None,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions.merge(
                host.docker_opts(self, depends_on=[self.dind]),
                pulumi.ResourceOptions(additional_secret_outputs=["uploads"], delete_before_replace=True),
            ),
        )
        self.register_outputs(props)
