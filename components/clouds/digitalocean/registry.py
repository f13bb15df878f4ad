"""``DigitalOceanRegistry``: a DigitalOcean container registry and push/pull credentials for it.

Two sets of credentials come from ``ContainerRegistryDockerCredentials``, each a Docker
``config.json`` document whose ``auths`` entry holds ``base64(user:password)`` for the registry
server:

* **push** (``write=True``): decoded into ``username``/``password`` for the build that pushes
  the image, on the machine running Pulumi; they never reach a host;
* **pull** (``write=False``, read-only: the provider's ``write`` defaults to false,
  terraform-provider-digitalocean ``digitalocean_container_registry_docker_credentials``): the
  ``docker_config`` the droplets pull with, so a compromised droplet cannot push an image that
  every other host would then run.

The component keeps both documents and the decoded user name and password secret; nothing
derived from them is ever a plain output.

A DigitalOcean account holds a single container registry: a stack that creates one fails if the
account already has one. With ``existing`` the component looks the registry up by name
(``get_container_registry``) and only issues credentials for it, so several stacks of one account
share it (one creates it, or it is made by hand, the others set ``registry.existing: true``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_digitalocean as digitalocean

from ...config import RegistrySettings
from ...naming import type_token

DEFAULT_SERVER = "registry.digitalocean.com"
TIERS = ("starter", "basic", "professional")


def parse_docker_credentials(document: str, server: str) -> tuple[str, str]:
    """The (user name, password) for ``server`` in a Docker ``config.json`` document.

    Falls back to the only entry when the document names a single registry under another key
    (e.g. with a scheme). Raises ``ValueError`` on anything else; the message never contains
    the credentials.
    """
    try:
        auths = json.loads(document)["auths"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("registry credentials are not a Docker config document with 'auths'") from None
    if not isinstance(auths, dict) or not auths:
        raise ValueError("registry credentials hold no registry entry")
    entry = auths.get(server)
    if entry is None and len(auths) == 1:
        entry = next(iter(auths.values()))
    if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
        raise ValueError(f"registry credentials hold no 'auth' entry for {server}")
    try:
        user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"the 'auth' entry for {server} is not base64 of user:password") from None
    if not sep or not user or not password:
        raise ValueError(f"the 'auth' entry for {server} is not base64 of user:password")
    return user, password


@dataclass
class DigitalOceanRegistryArgs:
    """Arguments of ``DigitalOceanRegistry``."""

    # The registry name: the path segment after registry.digitalocean.com/.
    registry_name: str
    # Subscription tier: starter (1 repository, 500 MB), basic or professional.
    tier: str = "basic"
    # A region that hosts registries (e.g. nyc3, sfo3, ams3, fra1, sgp1); None: DO's default.
    region: Optional[str] = None
    # Use the account's registry of this name instead of creating one.
    existing: bool = False


class DigitalOceanRegistry(pulumi.ComponentResource):
    """A DigitalOcean container registry with secret Docker credentials for it."""

    endpoint: pulumi.Output[str]
    """``registry.digitalocean.com/<name>``: the prefix of every image name in the registry."""
    server: pulumi.Output[str]
    """``registry.digitalocean.com``: the host Docker authenticates against."""
    username: pulumi.Output[str]
    """Registry user name (secret)."""
    password: pulumi.Output[str]
    """Registry password (secret)."""
    docker_config: pulumi.Output[str]
    """The Docker ``config.json`` document with the credentials (secret)."""

    def __init__(
        self,
        name: str,
        args: DigitalOceanRegistryArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        if args.tier not in TIERS:
            raise ValueError(f"registry tier {args.tier!r} is not one of {', '.join(TIERS)}")
        super().__init__(
            type_token("DigitalOceanRegistry"),
            name,
            {"registryName": args.registry_name, "tier": args.tier, "region": args.region, "existing": args.existing},
            opts,
        )
        child = pulumi.ResourceOptions(parent=self)
        registry_name: pulumi.Output[str]
        if args.existing:
            found = digitalocean.get_container_registry_output(
                name=args.registry_name, opts=pulumi.InvokeOptions(parent=self)
            )
            registry_name, self.endpoint, self.server = found.name, found.endpoint, found.server_url
        else:
            registry = digitalocean.ContainerRegistry(
                f"{name}-registry",
                name=args.registry_name,
                subscription_tier_slug=args.tier,
                region=args.region,
                opts=child,
            )
            registry_name, self.endpoint, self.server = registry.name, registry.endpoint, registry.server_url
        credentials = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-credentials",
            registry_name=registry_name,
            write=True,
            opts=pulumi.ResourceOptions(
                parent=self, additional_secret_outputs=["dockerCredentials"]
            ),
        )
        pull = digitalocean.ContainerRegistryDockerCredentials(
            f"{name}-pull-credentials",
            registry_name=registry_name,
            write=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["dockerCredentials"]),
        )
        # What hosts get: read-only.
        self.docker_config = pulumi.Output.secret(pull.docker_credentials)
        pair = pulumi.Output.all(credentials.docker_credentials, self.server).apply(
            lambda values: parse_docker_credentials(values[0], values[1] or DEFAULT_SERVER)
        )
        self.username = pulumi.Output.secret(pair.apply(lambda p: p[0]))
        self.password = pulumi.Output.secret(pair.apply(lambda p: p[1]))
        self.register_outputs({"endpoint": self.endpoint, "server": self.server})


def make_registry(
    name: str, settings: RegistrySettings, region: Optional[str], opts: pulumi.ResourceOptions
) -> DigitalOceanRegistry:
    """The clouds registry's factory for ``registry.kind: digitalocean``."""
    return DigitalOceanRegistry(
        name,
        DigitalOceanRegistryArgs(
            registry_name=settings.name, tier=settings.tier, region=region, existing=settings.existing
        ),
        opts=opts,
    )
