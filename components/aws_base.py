"""``AwsBase``: the per-stack AWS pieces every RancherOS host on AWS shares.

* An explicit ``aws.Provider`` for the configured region. Credentials come from the environment
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, or
  the CI's OIDC role), never from this program.
* A key pair from the stack's SSH public key (the ``rancher`` user).
* The RancherOS AMI: the pinned ``amiId`` when set, else the most recent
  ``rancheros-<version>-hvm-*`` HVM image of Rancher's AMI account ``605812595337``.
* The default VPC and its default subnet in each configured zone (public IPv4 on launch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import type_token
from components.aws_host import AwsRancherOSHost, AwsRancherOSHostArgs
from components.clouds import HostAccess, HostSpec, sanitized_name
from components.config import AwsCloud

RANCHEROS_AMI_OWNER = "605812595337"


@dataclass
class AwsBaseArgs:
    """Arguments of ``AwsBase``."""

    settings: AwsCloud
    access: HostAccess


class AwsBase(pulumi.ComponentResource):
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
                "zones": list(s.zones),
                "instanceType": s.instance_type,
                "amiPinned": s.ami_id is not None,
                "rancherosVersion": args.access.rancheros_version,
            },
            opts,
        )
        if not args.access.ssh_public_key:
            raise ValueError("rancher-stacks:sshPublicKey is required for AWS hosts")
        self.cloud = "aws"
        self.docker_mtu = None
        self.settings = s
        self.access = args.access
        self.region = s.region
        self.zones = list(s.zones)
        self.default_size = s.instance_type

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
        else:
            self.ami_id = aws.ec2.get_ami_output(
                owners=[RANCHEROS_AMI_OWNER],
                most_recent=True,
                filters=[
                    aws.ec2.GetAmiFilterArgs(
                        name="name", values=[f"rancheros-{args.access.rancheros_version}-hvm-*"]
                    ),
                    aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
                ],
                opts=invoke,
            ).id
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

    def check_size(self, size: str) -> None:
        """Every size of this cloud can run RancherOS."""

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a component on AWS: parented, with this base's provider for its children."""
        return pulumi.ResourceOptions(parent=parent, providers={"aws": self.provider})

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> AwsRancherOSHost:
        """A RancherOS EC2 instance in ``spec.zone``, launched into the group's security group."""
        if spec.zone not in self.subnet_ids:
            raise ValueError(f"zone {spec.zone!r} is not one of the AWS zones {self.zones}")
        sg_id = spec.firewall.aws_security_group_id
        if sg_id is None:
            raise ValueError(f"host {name}: the group's firewall is not an AWS security group")
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
                security_group_ids=[sg_id],
                user_data=spec.user_data,
                root_volume_gb=self.settings.root_volume_gb,
                tags={"rancher-stacks:stack": self.access.stack},
                imds_http_tokens=self.settings.imds_http_tokens,
            ),
            opts,
        )
