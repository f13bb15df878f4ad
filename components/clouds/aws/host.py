"""``AwsRancherOSHost``: one RancherOS EC2 instance.

The instance boots the RancherOS AMI with the host's cloud-config as user data, logs in as
``rancher`` with the stack's key pair, and is launched straight into the host group's security
group and a default subnet of its zone (public IPv4, so Pulumi can reach SSH from the admin
networks). The root volume is encrypted gp3.

Instance metadata: ``http_tokens="required"`` (IMDSv2 only) with a hop limit of 1, so containers
on the Docker bridge cannot read instance metadata. Caveat, checked in rancher/os
``config/cloudinit/datasource/metadata/ec2/metadata.go``: RancherOS 1.x fetches user data and
public keys with plain IMDSv1 GETs (no token). With tokens required those requests get 401, which
RancherOS treats as "no user data", so the host would boot without our cloud-config and keys.
The stack key ``clouds.aws.imdsHttpTokens`` is the switch for that trade-off (default
"required", which the policy pack demands); "optional" makes RancherOS 1.x hosts configurable
and is reported by the pack's mandatory ``ec2-imdsv2-required`` policy, so a stack that needs it
must say so in its policy configuration. No instance profile is attached, so IMDS never holds
credentials either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from ...naming import type_token
from ..base import FailureDomain

IMDS_HTTP_TOKENS = "required"  # the default of clouds.aws.imdsHttpTokens
LOGIN_USER = "rancher"


@dataclass
class AwsRancherOSHostArgs:
    """Arguments of ``AwsRancherOSHost``."""

    hostname: str
    region: str
    zone: str
    instance_type: str
    ami_id: pulumi.Input[str]
    key_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]]
    user_data: pulumi.Input[str]
    root_volume_gb: int = 20
    tags: Mapping[str, str] = field(default_factory=dict)
    imds_http_tokens: str = IMDS_HTTP_TOKENS


class AwsRancherOSHost(pulumi.ComponentResource):
    """A RancherOS EC2 instance; exposes its addresses and failure domain."""

    public_ip: pulumi.Output[str]
    egress_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AwsRancherOSHostArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(
            type_token("AwsRancherOSHost"),
            name,
            {
                "cloud": "aws",
                "region": args.region,
                "zone": args.zone,
                "size": args.instance_type,
                "rootVolumeGb": args.root_volume_gb,
                "encrypted": True,
                "imdsHttpTokens": args.imds_http_tokens,
                "loginUser": LOGIN_USER,
            },
            opts,
        )
        self.domain = FailureDomain("aws", args.region, args.zone)
        tags = {"Name": args.hostname, **dict(args.tags)}
        self.instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=args.ami_id,
            instance_type=args.instance_type,
            availability_zone=args.zone,
            subnet_id=args.subnet_id,
            associate_public_ip_address=True,
            vpc_security_group_ids=list(args.security_group_ids),
            key_name=args.key_name,
            user_data=args.user_data,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens=args.imds_http_tokens,
                http_put_response_hop_limit=1,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3",
                volume_size=args.root_volume_gb,
                encrypted=True,
                delete_on_termination=True,
                # Root volume tags here, not ``volume_tags``: that would also claim the data
                # volume attached later and fight its own tags.
                tags=tags,
            ),
            tags=tags,
            # ``ami`` and ``keyName`` are launch-time inputs whose change would replace the machine:
            # - a new AMI (a new hostOs version) applies to hosts created from now on; running hosts
            #   are rolled one at a time with ``pulumi up --replace <urn>`` (README, "Day 2");
            # - a new sshPublicKey replaces the key pair, and with it its name. The key pair is only
            #   read at launch; the OS authorizes the keys of the cloud-config in the user data at
            #   every boot (burmilla/os cmd/cloudinitexecute/cloudinitexecute.go, ApplyConsole;
            #   cloud-init-save re-reads the user data at each boot, os-config.tpl.yml), and a user
            #   data change is an in-place stop/start (userDataReplaceOnChange defaults to false:
            #   terraform-provider-aws PR #23604), which keeps the root disk, data volume and EIP.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["ami", "keyName"]),
        )
        self.instance_id = self.instance.id
        # A static address: an instance's public IP changes at every stop/start, and this one is
        # baked into peers' firewall rules, certificates and member lists. Pulumi reaches the
        # host at it, so anything that uses the address waits for the association.
        self.address = aws.ec2.Eip(
            f"{name}-ip", domain="vpc", tags=tags, opts=pulumi.ResourceOptions(parent=self)
        )
        self.association = aws.ec2.EipAssociation(
            f"{name}-ip-association",
            instance_id=self.instance.id,
            allocation_id=self.address.allocation_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.public_ip = pulumi.Output.all(self.address.public_ip, self.association.id).apply(lambda v: v[0])
        # An associated Elastic IP replaces the instance's public IPv4 (the auto-assigned one is
        # released), so outbound traffic leaves from it too (EC2 User Guide, "Elastic IP
        # addresses"): peers admit the host by the same address.
        self.egress_ip = self.public_ip
        self.private_ip = self.instance.private_ip
        self.register_outputs(
            {"instanceId": self.instance_id, "publicIp": self.public_ip, "privateIp": self.private_ip}
        )
