"""``Kibana``: Kibana (>= 1) on its own hosts, published only through nginx with TLS and basic auth.

Per host: a private Docker network, the Kibana container on it (not published: 5601 is never
reachable from outside the host), and nginx publishing the HTTPS port, which the firewall opens
to the admin CIDRs only. Kibana uses ``kibana_system`` against the cluster's HTTP endpoints
(the coordinating nodes when there are any) with the logging CA (``render_kibana``). nginx
checks a one-user htpasswd (bcrypt, from a ``RandomPassword`` and a stored random salt,
``render_nginx``) and presents the logging CA's certificate for the host's public address (and
``serverName``), or the certificate and key given in config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, check_distinct_hosts, published_ports
from ...images import KIBANA_IMAGE, NGINX_IMAGE
from ...naming import type_token
from ...net.rules import Rule, admin_source
from ..pki import PrivateCa
from ..render_tls_files import SecretFile, render_tls_entrypoint
from .render_kibana import (
    CA_FILE,
    CONFIG_PATH,
    ENCRYPTION_ENV,
    IMAGE_ENTRYPOINT,
    PASSWORD_ENV,
    PORT,
    REPORTING_ENV,
    SAVED_OBJECTS_ENV,
    render_kibana_yml,
)
from .render_nginx import CERT_FILE, HTPASSWD_FILE, KEY_FILE, render_htpasswd, render_nginx_conf
from .render_nginx import CONFIG_PATH as NGINX_CONFIG_PATH

ENTRYPOINT_PATH = "/usr/local/bin/rancher-stacks-entrypoint.sh"
KIBANA_ENTRYPOINT_PATH = "/usr/share/kibana/rancher-stacks-entrypoint.sh"
NGINX_ENTRYPOINT = ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]


def kibana_ingress(admin_cidrs: Sequence[str], public_port: int) -> list[Rule]:
    """HTTPS (nginx) from the admin networks only; Kibana's 5601 is not published at all."""
    return [Rule("https", admin_source(tuple(admin_cidrs)), "Kibana through nginx: admins only", tcp_port=public_port)]


@dataclass
class KibanaArgs:
    hosts: list[DockerHost]
    es_hosts: pulumi.Input[list[str]]
    kibana_system_password: pulumi.Input[str]
    ca: PrivateCa
    public_port: int = 443
    user: str = "kibana"
    server_name: Optional[str] = None
    # A given certificate (PEM) and its key (secret); None: the CA signs one.
    certificate_pem: Optional[str] = None
    certificate_key: Optional[pulumi.Input[str]] = None
    image: str = KIBANA_IMAGE
    nginx_image: str = NGINX_IMAGE
    depends_on: Sequence[pulumi.Resource] = ()


class Kibana(pulumi.ComponentResource):
    urls: pulumi.Output[list[str]]
    basic_auth_user: str
    basic_auth_password: pulumi.Output[str]

    def __init__(self, name: str, args: KibanaArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        hosts = list(args.hosts)
        if not hosts:
            raise ValueError("Kibana needs at least one host")
        check_distinct_hosts(hosts, "Kibana instances")
        props = {
            "hosts": [h.host_name for h in hosts],
            "publicPort": args.public_port,
            "basicAuth": True,
            "tls": "config" if args.certificate_pem else "ca",
        }
        super().__init__(type_token("Kibana"), name, props, opts)
        child = pulumi.ResourceOptions(parent=self)

        def secret(key: str, length: int) -> pulumi.Output[str]:
            return pulumi.Output.secret(
                random.RandomPassword(f"{name}-{key}", length=length, special=False, opts=child).result
            )

        self.basic_auth_user = args.user
        basic_auth = random.RandomPassword(f"{name}-basic-auth-password", length=24, special=False, opts=child)
        self.basic_auth_password = pulumi.Output.secret(basic_auth.result)
        htpasswd: pulumi.Output[str] = pulumi.Output.secret(
            basic_auth.bcrypt_hash.apply(lambda h: render_htpasswd(args.user, h))
        )
        keys = {
            env: secret(key, 32)
            for env, key in (
                (ENCRYPTION_ENV, "encryption-key"),
                (SAVED_OBJECTS_ENV, "saved-objects-key"),
                (REPORTING_ENV, "reporting-key"),
            )
        }
        kibana_entry = render_tls_entrypoint([SecretFile("RS_TLS_CA", CA_FILE, "0400")])
        nginx_entry = render_tls_entrypoint(
            [
                SecretFile("RS_TLS_CERT", CERT_FILE, "0444"),
                SecretFile("RS_TLS_KEY", KEY_FILE, "0400"),
                # Read by the worker processes (user nginx) at each request; a bcrypt hash.
                SecretFile("RS_HTPASSWD", HTPASSWD_FILE, "0444"),
            ]
        )
        ports = published_ports(hosts, args.public_port)
        urls = []
        for host, port in zip(hosts, ports, strict=True):
            key = host.host_name
            address = host.public_address
            url = pulumi.Output.concat("https://", address if not host.is_local else "localhost", f":{port}/")
            urls.append(url)
            network = docker.Network(f"{name}-{key}-net", name=f"{name}-{key}", opts=host.docker_opts(self))
            kibana_image = docker.RemoteImage(
                f"{name}-{key}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self)
            )
            nginx_image = docker.RemoteImage(
                f"{name}-{key}-nginx-image", name=args.nginx_image, keep_locally=True, opts=host.docker_opts(self)
            )
            kibana_name = f"{name}-{key}"

            def kibana_yml(values: list[Any], key: str = key) -> str:
                return render_kibana_yml(name=key, es_hosts=values[0], public_url=values[1].rstrip("/"))

            config = pulumi.Output.all(args.es_hosts, url).apply(kibana_yml)
            kibana = docker.Container(
                kibana_name,
                name=kibana_name,
                image=kibana_image.image_id,
                entrypoints=[KIBANA_ENTRYPOINT_PATH],
                command=IMAGE_ENTRYPOINT,
                envs=[
                    pulumi.Output.concat("RS_TLS_CA=", args.ca.ca_certificate),
                    pulumi.Output.concat(f"{PASSWORD_ENV}=", args.kibana_system_password),
                    *[pulumi.Output.concat(f"{env}=", value) for env, value in keys.items()],
                ],
                uploads=[
                    docker.ContainerUploadArgs(file=KIBANA_ENTRYPOINT_PATH, content=kibana_entry, permissions="0755"),
                    docker.ContainerUploadArgs(file=CONFIG_PATH, content=config, permissions="0444"),
                ],
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=["kibana"])],
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self, depends_on=list(args.depends_on)),
                    pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
                ),
            )
            if args.certificate_pem is not None and args.certificate_key is not None:
                cert_pem: pulumi.Input[str] = args.certificate_pem
                key_pem: pulumi.Input[str] = pulumi.Output.secret(args.certificate_key)
            else:
                names = pulumi.Output.all(host.public_address, host.private_address).apply(
                    lambda a: [
                        *(a if a[0] != "127.0.0.1" else []),
                        "localhost",
                        "127.0.0.1",
                        *([args.server_name] if args.server_name else []),
                    ]
                )
                issued = args.ca.issue(
                    f"{name}-{key}-https",
                    args.server_name or key,
                    self,
                    addresses=names,
                    uses=["digital_signature", "server_auth"],
                )
                cert_pem, key_pem = issued.cert_pem, issued.private_key_pem
            docker.Container(
                f"{name}-{key}-nginx",
                name=f"{name}-{key}-nginx",
                image=nginx_image.image_id,
                entrypoints=[ENTRYPOINT_PATH],
                command=NGINX_ENTRYPOINT,
                envs=[
                    pulumi.Output.concat("RS_TLS_CERT=", cert_pem),
                    pulumi.Output.concat("RS_TLS_KEY=", key_pem),
                    pulumi.Output.concat("RS_HTPASSWD=", htpasswd),
                ],
                uploads=[
                    docker.ContainerUploadArgs(file=ENTRYPOINT_PATH, content=nginx_entry, permissions="0755"),
                    docker.ContainerUploadArgs(
                        file=NGINX_CONFIG_PATH,
                        content=render_nginx_conf(listen_port=args.public_port, upstream=f"kibana:{PORT}"),
                        permissions="0444",
                    ),
                ],
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
                ports=[docker.ContainerPortArgs(internal=args.public_port, external=port)],
                restart="unless-stopped",
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self, depends_on=[kibana]),
                    pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
                ),
            )
        self.urls = pulumi.Output.all(*urls)
        self.register_outputs({**props, "urls": self.urls})
