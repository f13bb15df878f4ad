"""Seed 9: Jenkins. A controller on a retained home volume, Docker-in-Docker agents, an HTTPS front.

Enabled by ``workloads.ci``. Three host groups on the section's cloud:

* ``ci``: one controller host with the encrypted data volume holding ``JENKINS_HOME`` (retained
  on delete; protected with ``protectStateful``; snapshotted by ``backups``). It admits the UI
  port (``httpPort``, 8080) from the front and the agent hosts only.
* ``ci-agent``: ``agents`` hosts (over the cloud's zones in order), one inbound agent and one
  dind daemon each. They admit nothing but SSH: agents dial out to the controller.
* ``ci-front``: the project's HAProxy ``LoadBalancer`` with TLS on ``publicPort`` (443), a health
  check on ``/login``, reachable from ``adminCidrs``; ``worldOpen: true`` opens it to everyone,
  which is safe only because Jenkins itself refuses anonymous users (no signup, no anonymous
  permission: the pack's ``ci-login-required`` checks the controller's rendered configuration).

**Agents over WebSocket, not TCP 50000.** Both need the node's secret from the controller (the
secret is an HMAC the controller derives; nothing else can compute it), so the choice is only
about the port: WebSocket agents connect through the HTTP port the front and the agents already
use, so 50000 is never opened anywhere, the controller's TCP agent listener is off, and a single
firewall rule covers both the UI and the agents.

**Scaling.** ``agents: N`` names hosts ``ci-agent-<i>`` and nodes after them; changing N adds or
removes those hosts, their agent and dind containers, their secret fetches, and the node
definitions (``jenkins.yaml`` is rewritten and reloaded without restarting the controller).
"""

from __future__ import annotations

from typing import Mapping

import pulumi

from ..config import CiWorkload, StackConfig, parse_plugin
from ..hosts.groups import GroupDecl, Peers
from ..hosts.hostgroup import HostGroup
from ..hosts.placement import host_address, published_ports
from ..net.rules import WORLD, FromGroup, Rule, admin_source
from ..workloads.haproxy.loadbalancer import Backend, LoadBalancer, LoadBalancerArgs
from ..workloads.jenkins.agents import JenkinsAgent, JenkinsAgentArgs
from ..workloads.jenkins.controller import JenkinsController, JenkinsControllerArgs
from ..workloads.jenkins.render_casc import AgentNode, CascSpec, Pipeline
from ..workloads.pki import SERVER_USES, PrivateCa
from .registry import Exports, System

CONTROLLER, AGENTS, FRONT = "ci", "ci-agent", "ci-front"
FRONT_STATS_PORT = 8405


def _ci(cfg: StackConfig) -> CiWorkload:
    ci = cfg.workloads.ci
    assert ci is not None  # enabled() guarantees it
    return ci


def front_rules(ci: CiWorkload, admin_cidrs: list[str]) -> list[Rule]:
    """Who reaches the front: the admin networks, or everyone with ``worldOpen``."""
    if ci.world_open:
        return [Rule("https", WORLD, "Jenkins, behind its own login (worldOpen)", tcp_port=ci.public_port)]
    return [
        Rule("https", admin_source(tuple(admin_cidrs)), "Jenkins, from the admin networks", tcp_port=ci.public_port)
    ]


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    ci = _ci(cfg)

    def controller_ingress(peers: Peers) -> list[Rule]:
        return [
            Rule(
                "jenkins-ui",
                FromGroup(peer),
                f"Jenkins UI and WebSocket agents, from {peer.name}",
                tcp_port=ci.http_port,
            )
            for peer in peers.present(FRONT, AGENTS)
        ]

    decls = [
        GroupDecl(CONTROLLER, ci.cloud, 1, size=ci.size, data_volume_gb=ci.data_volume_gb, ingress=controller_ingress),
        GroupDecl(FRONT, ci.cloud, 1, size=ci.front_size, ingress=lambda _: front_rules(ci, cfg.admin_cidrs)),
    ]
    if ci.agents > 0:
        decls.append(GroupDecl(AGENTS, ci.cloud, ci.agents, size=ci.agent_size or ci.size))
    return decls


def _deploy(cfg: StackConfig, groups: Mapping[str, HostGroup]) -> Exports:
    ci = _ci(cfg)
    controller_host = groups[CONTROLLER].hosts[0]
    front_host = groups[FRONT].hosts[0]
    agent_hosts = groups[AGENTS].hosts if AGENTS in groups else []
    labels = tuple(ci.agent_labels)
    nodes = [AgentNode(host.host_name, labels, ci.executors) for host in agent_hosts]
    pipeline = (
        Pipeline(ci.pipeline.repository, ci.pipeline.branch, ci.pipeline.label) if ci.pipeline is not None else None
    )
    suffix = "/" if ci.public_port == 443 else f":{ci.public_port}/"
    url = pulumi.Output.concat("https://", front_host.public_address, suffix)
    spec = url.apply(lambda u: CascSpec(url=u, admin_user=ci.admin_user, nodes=nodes, pipeline=pipeline))
    controller = JenkinsController(
        CONTROLLER,
        JenkinsControllerArgs(
            host=controller_host,
            plugins=[parse_plugin(p) for p in ci.plugins],
            casc=spec,
            casc_preview=CascSpec(url="https://placeholder/", admin_user=ci.admin_user, nodes=nodes, pipeline=pipeline),
            base_image=ci.controller_image,
            http_port=ci.http_port,
            protect_home=cfg.protect_stateful,
        ),
    )
    # The controller as the agents and the front reach it: its private address on a VM cloud (same
    # cloud, same network), host.docker.internal on the local daemon.
    address = host_address(controller_host, "private")
    (port,) = published_ports([controller_host], ci.http_port)
    controller_url = pulumi.Output.concat("http://", address, f":{port}/")
    for host, node in zip(agent_hosts, nodes, strict=True):
        JenkinsAgent(
            host.host_name,
            JenkinsAgentArgs(
                host=host,
                node=node.name,
                controller_url=controller_url,
                secret=controller.agent_secret(node.name),
                agent_image=ci.agent_image,
                dind_image=ci.dind_image,
            ),
        )

    if ci.tls is not None:
        tls_pem = pulumi.Output.secret(
            ci.tls.certificate_pem.rstrip("\n") + "\n" + ci.tls.private_key_pem.get_secret_value()
        )
        ca_certificate: pulumi.Input[str] = ""
    else:
        ca = PrivateCa(f"{FRONT}-ca", "rancher-stacks CI front CA")
        issued = ca.issue(
            f"{FRONT}-ca-tls",
            "jenkins",
            ca,
            addresses=front_host.public_address.apply(lambda a: [a]),
            uses=SERVER_USES,
        )
        tls_pem = pulumi.Output.secret(pulumi.Output.concat(issued.cert_pem, issued.private_key_pem))
        ca_certificate = ca.ca_certificate
    front = LoadBalancer(
        FRONT,
        LoadBalancerArgs(
            host=front_host,
            backends=[Backend(controller_host.host_name, address, port)],
            health_path="/login",
            public_port=ci.public_port,
            # Not the web tier balancer's 8404: on the local daemon both publish on one loopback.
            stats_port=FRONT_STATS_PORT,
            tls_pem=tls_pem,
        ),
    )
    return {
        "jenkinsUrl": front.url,
        "jenkinsAdminUser": ci.admin_user,
        "jenkinsAdminPassword": controller.admin_password,
        "jenkinsCaCertificate": ca_certificate,
        "jenkinsAgents": [node.name for node in nodes],
    }


SYSTEM = System(
    name="ci",
    section="workloads.ci",
    enabled=lambda cfg: cfg.workloads.ci is not None,
    groups=_groups,
    deploy=_deploy,
)
