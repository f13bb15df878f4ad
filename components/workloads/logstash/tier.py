"""``LogstashTier``: N Logstash containers on distinct hosts running one rendered pipeline.

Used twice by the logging system: the **collectors** (Beats input on 5044 with TLS and required
client certificates -> Redis) and the **indexers** (Redis -> Elasticsearch as their own user).
Each container gets the pipeline (``render_pipelines``; no secret in it) as an upload, its
certificate and key (PKCS#8, as the Beats input requires) and the CA through the entrypoint
wrapper, and its secrets (Redis password, Elasticsearch password) as its own secret environment.
The persistent queue (``queue.type: persisted``, in the container's own filesystem) keeps what a
node accepted across a restart of Logstash or of its container. ``xpack.monitoring.enabled`` is
off: the legacy collector would otherwise try ``http://elasticsearch:9200``; the image maps
``XPACK_MONITORING_ENABLED`` (and ``QUEUE_TYPE``) into logstash.yml (elastic/dockerfiles 8.19,
``logstash/env2yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import pulumi_docker as docker

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, check_distinct_hosts, published_ports
from ...images import LOGSTASH_IMAGE
from ...naming import type_token
from ..pki import PrivateCa
from ..render_tls_files import SecretFile, render_tls_entrypoint
from .render_pipelines import BEATS_PORT, CA_FILE, CERT_FILE, KEY_FILE, PIPELINE_PATH

ENTRYPOINT_PATH = "/usr/share/logstash/rancher-stacks-entrypoint.sh"
IMAGE_ENTRYPOINT = ["/usr/local/bin/docker-entrypoint"]
CA_ENV, CERT_ENV, KEY_ENV = "RS_TLS_CA", "RS_TLS_CERT", "RS_TLS_KEY"


@dataclass
class LogstashTierArgs:
    role: Literal["collector", "indexer"]
    hosts: list[DockerHost]
    pipeline: pulumi.Input[str]
    ca: PrivateCa
    heap_mb: int
    # NAME=value secrets for the pipeline's ${VAR} references.
    secret_envs: list[pulumi.Input[str]] = field(default_factory=list)
    image: str = LOGSTASH_IMAGE
    # Collectors: also the public address in the certificate (shippers on other clouds).
    publish_beats: bool = False


class LogstashTier(pulumi.ComponentResource):
    beats_endpoints: list[tuple[DockerHost, int]]
    """(host, published Beats port) per collector."""

    def __init__(self, name: str, args: LogstashTierArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        hosts = list(args.hosts)
        if len(hosts) < 2:
            raise ValueError(f"{args.role}s: at least 2, on distinct hosts; got {len(hosts)}")
        check_distinct_hosts(hosts, f"Logstash {args.role}s")
        props = {"role": args.role, "hosts": [h.host_name for h in hosts], "zones": [str(h.domain) for h in hosts]}
        super().__init__(type_token("LogstashTier"), name, props, opts)
        entrypoint = render_tls_entrypoint(
            [
                SecretFile(CA_ENV, CA_FILE, "0400"),
                SecretFile(CERT_ENV, CERT_FILE, "0400"),
                SecretFile(KEY_ENV, KEY_FILE, "0400"),
            ]
        )
        ports = published_ports(hosts, BEATS_PORT)
        self.beats_endpoints = list(zip(hosts, ports, strict=True)) if args.publish_beats else []
        pulled: dict[str, docker.RemoteImage] = {}
        for host, port in zip(hosts, ports, strict=True):
            cname = f"{name}-{host.host_name}"
            names = pulumi.Output.all(host.public_address, host.private_address).apply(
                lambda a: [*a, "host.docker.internal", "localhost"]
            )
            cert = args.ca.issue(f"{cname}-tls", host.host_name, self, addresses=names)
            daemon = "local" if host.is_local else host.host_name
            if daemon not in pulled:
                pulled[daemon] = docker.RemoteImage(
                    f"{name}-{host.host_name}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self)
                )
            assert cert.private_key_pkcs8_pem is not None
            docker.Container(
                cname,
                name=cname,
                image=pulled[daemon].image_id,
                entrypoints=[ENTRYPOINT_PATH],
                command=IMAGE_ENTRYPOINT,
                envs=[
                    f"LS_JAVA_OPTS=-Xms{args.heap_mb}m -Xmx{args.heap_mb}m",
                    "XPACK_MONITORING_ENABLED=false",
                    "CONFIG_RELOAD_AUTOMATIC=false",
                    # Events a collector acknowledged to Filebeat, or an indexer popped from Redis,
                    # are on disk until written on: a restarted Logstash resumes them
                    # (https://www.elastic.co/guide/en/logstash/8.19/persistent-queues.html).
                    "QUEUE_TYPE=persisted",
                    pulumi.Output.concat(f"{CA_ENV}=", args.ca.ca_certificate),
                    pulumi.Output.concat(f"{CERT_ENV}=", cert.cert_pem),
                    pulumi.Output.concat(f"{KEY_ENV}=", cert.private_key_pkcs8_pem),
                    *args.secret_envs,
                ],
                uploads=[
                    docker.ContainerUploadArgs(file=ENTRYPOINT_PATH, content=entrypoint, permissions="0755"),
                    docker.ContainerUploadArgs(file=PIPELINE_PATH, content=args.pipeline, permissions="0444"),
                ],
                ports=[docker.ContainerPortArgs(internal=BEATS_PORT, external=port)] if args.publish_beats else None,
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                # Logstash drains its in-flight batch when given time to stop.
                destroy_grace_seconds=60,
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self),
                    pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
                ),
            )
        self.register_outputs(props)
