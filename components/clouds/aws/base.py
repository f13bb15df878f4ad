"""``AwsBase``: the per-stack AWS pieces every RancherOS-family host on AWS shares.

* An explicit ``aws.Provider`` for the configured region. Credentials come from the environment
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, or
  the CI's OIDC role), never from this program.
* A key pair from the stack's SSH public key (the ``rancher`` user).
* The host OS AMI: ``amiId`` (required for BurmillaOS, which publishes none), else for RancherOS
  the most recent ``rancheros-<version>-hvm-*`` HVM image of Rancher's account ``605812595337``,
  deprecated images included (they are years old).
* The default VPC and its default subnet in each configured zone (public IPv4 on launch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from ...config import AwsCloud, Backups
from ...hostos import RANCHEROS_AMI_OWNER
from ...naming import sanitized_name, type_token
from ..base import FirewallRequest, HostAccess, HostSpec, RenderedFirewall, SnapshotSchedule, VmCloud
from . import backup, firewall, volume
from .host import AwsRancherOSHost, AwsRancherOSHostArgs


@dataclass
class AwsBaseArgs:
    """Arguments of ``AwsBase``."""

    settings: AwsCloud
    access: HostAccess


class AwsBase(VmCloud, pulumi.ComponentResource):
    """Provider, key pair, AMI and default-VPC lookups for the stack's AWS hosts."""

    # Set after ``super().__init__``: the engine turns every prop key into an Output attribute.
    cloud: str
    docker_mtu: Optional[int]
    ami_id: pulumi.Output[str]
    vpc_id: pulumi.Output[str]

    def __init__(self, name: str, args: AwsBaseArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        s = args.settings
        super().__init__(
            type_token("AwsBase"),
            name,
            {
                "cloud": "aws",
                "region": s.region,
                "zones": sorted(set(s.zones)),
                "instanceType": s.instance_type,
                "amiPinned": s.ami_id is not None,
                "hostOs": args.access.os.name,
                "hostOsVersion": args.access.os.version,
            },
            opts,
        )
        if not args.access.ssh_public_key:
            raise ValueError("rancher-stacks:sshPublicKey is required for AWS hosts")
        self.cloud = "aws"
        self.volumes = volume
        self.docker_mtu = None
        self.settings = s
        self.access = args.access
        self.region = s.region
        self.zones = sorted(set(s.zones))  # only the set counts (assign_zones)
        self.default_size = s.instance_type
        self.base_name = name

        self.provider = aws.Provider(
            f"{name}-provider", region=s.region, opts=pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        invoke = pulumi.InvokeOptions(parent=self, provider=self.provider)

        self.key_pair = aws.ec2.KeyPair(
            f"{name}-key",
            public_key=args.access.ssh_public_key,
            tags={"Name": sanitized_name("rancher-stacks", args.access.stack)},
            opts=child,
        )
        if s.ami_id is not None:
            self.ami_id = pulumi.Output.from_input(s.ami_id)
        elif args.access.os.name == "rancheros":
            # RancherOS's own AMIs are years old, hence deprecated and hidden from DescribeImages
            # unless deprecated images are included.
            self.ami_id = aws.ec2.get_ami_output(
                owners=[RANCHEROS_AMI_OWNER],
                most_recent=True,
                include_deprecated=True,
                filters=[
                    aws.ec2.GetAmiFilterArgs(
                        name="name", values=[f"rancheros-{args.access.os.version}-hvm-*"]
                    ),
                    aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
                ],
                opts=invoke,
            ).id
        else:
            raise ValueError(f"rancher-stacks:clouds.aws.amiId: expected the id of a {args.access.os.title} AMI")
        vpc = aws.ec2.get_vpc_output(default=True, opts=invoke)
        self.vpc_id = vpc.id
        self.subnet_ids: dict[str, pulumi.Output[str]] = {
            zone: aws.ec2.get_subnet_output(
                vpc_id=vpc.id, availability_zone=zone, default_for_az=True, opts=invoke
            ).id
            for zone in self.zones
        }
        self.register_outputs(
            {"amiId": self.ami_id, "vpcId": self.vpc_id, "keyName": self.key_pair.key_name}
        )

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> AwsRancherOSHost:
        """A RancherOS EC2 instance in ``spec.zone``, launched into the group's security group."""
        if spec.zone not in self.subnet_ids:
            raise ValueError(f"zone {spec.zone!r} is not one of the AWS zones {self.zones}")
        return AwsRancherOSHost(
            name,
            AwsRancherOSHostArgs(
                hostname=spec.hostname,
                region=self.region,
                zone=spec.zone,
                instance_type=spec.size,
                ami_id=self.ami_id,
                key_name=self.key_pair.key_name,
                subnet_id=self.subnet_ids[spec.zone],
                security_group_ids=[spec.firewall_handle],
                user_data=spec.user_data,
                root_volume_gb=self.settings.root_volume_gb,
                tags={"rancher-stacks:stack": self.access.stack},
                imds_http_tokens=self.settings.imds_http_tokens
                or ("required" if self.access.os.reads_imdsv2 else "optional"),
            ),
            opts,
        )

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        """A security group in the default VPC and its rules (``firewall``)."""
        return firewall.render_firewall(self.vpc_id, request)

    def new_snapshot_schedule(self, backups: Backups) -> SnapshotSchedule:
        """The stack's DLM policy (``backup``), created with the first data volume."""
        return backup.new_snapshot_policy(
            self.base_name,
            backups,
            pulumi.get_project(),
            self.access.stack,
            pulumi.ResourceOptions(parent=self, provider=self.provider),
        )



def make_base(name: str, settings: AwsCloud, access: HostAccess) -> AwsBase:
    """The registry's factory: the stack's AWS base."""
    return AwsBase(name, AwsBaseArgs(settings=settings, access=access))
