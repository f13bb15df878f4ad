"""``KubernetesCluster``: an EKS cluster built from plain ``pulumi_aws`` resources.

Not the opaque ``pulumi_eks`` component: every piece (network, roles, key, cluster, launch
templates, node groups, ASG tags, OIDC provider) is a resource of its own, so the offline plan and
the policy pack see and check each one.

* **Network.** A VPC of its own over the cluster's zones (``kubernetes.zones``, else
  ``clouds.aws.zones``; EKS wants subnets in at least two zones). The AWS cloud base only looks up
  the default VPC, whose subnets hand out public addresses; nodes here live in private subnets
  and reach out through one NAT gateway (one, not one per zone: a zone outage cuts the nodes'
  egress, an accepted cost trade-off for a small stack). Public subnets carry the
  ``kubernetes.io/role/elb`` tag and private ones ``kubernetes.io/role/internal-elb``, the tags
  load balancers are placed by (EKS User Guide, "Route internet traffic with AWS Load Balancer
  Controller", subnet tagging).
* **Control plane.** A pinned ``version`` (``images.EKS_VERSIONS``), private and/or public
  endpoint from config with the public one answering ``adminCidrs`` only
  (``vpcConfig.publicAccessCidrs``), Kubernetes secrets envelope-encrypted with a KMS key of the
  stack with yearly rotation on, all five control-plane log types into a log group created first
  with a retention (EKS would otherwise create ``/aws/eks/<name>/cluster`` without one: EKS User
  Guide, "Send control plane logs to CloudWatch Logs"). Access through EKS access entries
  (``authenticationMode: API``); whoever creates the cluster becomes its admin.
* **IRSA.** An IAM OIDC provider for the cluster's issuer, audience ``sts.amazonaws.com``. IAM
  now validates the issuer's TLS certificate against its own library of trusted root CAs and
  uses thumbprints only for certificates outside it (IAM API Reference,
  UpdateOpenIDConnectProviderThumbprint, note); the EKS issuer's certificate chains to Amazon's
  public CA, so the thumbprint is kept only for completeness: the SHA-1 of the root of the
  chain the issuer serves (``tls.get_certificate``, root first), as terraform-aws-eks does.
* **Nodes.** One managed node group per ``nodeGroups`` entry in the private subnets of its
  zones, Amazon Linux 2023 (EKS's default AMI family from 1.33), a launch template requiring
  IMDSv2 with a hop limit of 1 (pods on the pod network cannot reach the node's credentials),
  and an encrypted gp3 root volume. The node role has the three managed policies EKS documents
  for nodes (EKS User Guide, "Amazon EKS node IAM role": AmazonEKSWorkerNodePolicy,
  AmazonEC2ContainerRegistryReadOnly, AmazonEKS_CNI_Policy).
* **Autoscaling.** EKS tags every managed node group's Auto Scaling group with both discovery
  tags itself (EKS User Guide, "Simplify node lifecycle with managed node groups": nodes are
  "automatically tagged for auto-discovery"), while the node group's own ``tags`` never reach the
  ASG (aws/containers-roadmap#608; terraform-aws-eks#636 quotes the docs). So each group with
  ``minSize < maxSize`` gets its ASG tagged here with ``aws.autoscaling.Tag``: the two discovery
  tags (same values EKS sets; they make the plan and the pack able to check them, and the IAM
  policy's ``aws:ResourceTag`` conditions match them) and the ``node-template`` label and taint
  tags cluster-autoscaler needs to scale a group up from zero (kubernetes/autoscaler
  cloudprovider/aws/README.md, "Auto-Discovery Setup"). A group with ``minSize == maxSize`` gets
  none of ours; EKS's own tags still let the autoscaler see it, and it never moves a group out of
  its ASG's [min, max], so a fixed group stays fixed. ``desiredSize`` is left to the autoscaler
  after creation (``ignoreChanges``), or every ``pulumi up`` would undo its scaling.
* **Kubernetes access.** ``kubeconfig`` (secret) runs ``aws eks get-token``; ``provider`` is a
  ``pulumi_kubernetes`` provider built from it, created after the node groups so workloads
  deployed through it have nodes to run on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from ..config import KubernetesSettings, NodeGroup
from ..naming import type_token
from .render_iam import ENABLED_TAG, assume_role_policy, cluster_role_policy, cluster_tag
from .render_kubeconfig import render_kubeconfig

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
# The aws.eks.NodeGroup taint effects (the EKS API spells them NO_SCHEDULE ...).
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
AMI_TYPE = "AL2023_x86_64_STANDARD"
ROOT_DEVICE = "/dev/xvda"  # the root device of the EKS-optimized Amazon Linux AMIs


def subnet_cidrs(vpc_cidr: str, zones: Sequence[str]) -> dict[str, tuple[str, str]]:
    """zone -> (private, public) subnet CIDRs: the VPC cut in 16 parts, private from the first,
    public from the ninth, by the zone's position in the sorted zone list (stable per zone)."""
    network = ipaddress.ip_network(vpc_cidr)
    parts = list(network.subnets(prefixlen_diff=4))
    if len(zones) > 8:
        raise ValueError(f"at most 8 zones per cluster; got {len(zones)}")
    return {zone: (str(parts[i]), str(parts[8 + i])) for i, zone in enumerate(sorted(zones))}


def asg_tags(cluster_name: str, group: NodeGroup) -> dict[str, str]:
    """The tags cluster-autoscaler reads on an autoscaled group's ASG (none on a fixed-size one)."""
    if not group.autoscaled:
        return {}
    tags = {ENABLED_TAG: "true", cluster_tag(cluster_name): "owned"}
    for key, value in group.labels.items():
        tags[f"k8s.io/cluster-autoscaler/node-template/label/{key}"] = value
    for taint in group.taints:
        tags[f"k8s.io/cluster-autoscaler/node-template/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
    return tags


def _issuer(identities: Optional[Sequence[aws.eks.outputs.ClusterIdentity]]) -> str:
    """The OIDC issuer URL EKS reports for the cluster."""
    oidcs = (identities or [])[0].oidcs or []
    return oidcs[0].issuer or ""


def _asg_name(resources: Optional[Sequence[aws.eks.outputs.NodeGroupResource]]) -> str:
    """The name of the Auto Scaling group EKS made for a managed node group (one per group)."""
    groups = (resources or [])[0].autoscaling_groups or []
    return groups[0].name or ""


@dataclass
class KubernetesClusterArgs:
    """Arguments of ``KubernetesCluster``."""

    settings: KubernetesSettings
    cluster_name: str
    region: str
    zones: list[str]
    # The networks the public endpoint answers (the stack's adminCidrs); never 0.0.0.0/0.
    admin_cidrs: list[str]
    tags: dict[str, str] = field(default_factory=dict)


class KubernetesCluster(pulumi.ComponentResource):
    """An EKS cluster, its network, node groups, OIDC provider and a Kubernetes provider for it."""

    cluster_name: str
    version: str
    region: str
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """A kubeconfig (secret) authenticating with ``aws eks get-token``."""
    provider: k8s.Provider
    """A ``pulumi_kubernetes`` provider for this cluster: pass it to workloads."""
    aws_provider: aws.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    """The EKS-created cluster security group: managed nodes and the control plane both use it."""
    vpc_id: pulumi.Output[str]
    private_subnet_ids: dict[str, pulumi.Output[str]]
    node_group_asg_names: dict[str, pulumi.Output[str]]
    egress_ips: pulumi.Output[list[str]]
    """The public addresses pods and nodes reach the internet from (the NAT gateway's): what a
    firewall outside the cluster admits to let the cluster's workloads in."""

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        s = args.settings
        zones = sorted(set(args.zones))
        if len(zones) < 2:
            raise ValueError(f"EKS needs subnets in at least two zones; got {zones}")
        public_cidrs = list(args.admin_cidrs) if s.endpoint.public else []
        if s.endpoint.public and (
            not public_cidrs or any(ipaddress.ip_network(c).prefixlen == 0 for c in public_cidrs)
        ):
            raise ValueError("a public endpoint needs admin CIDRs narrower than the whole internet")
        super().__init__(
            type_token("KubernetesCluster"),
            name,
            {
                "clusterName": args.cluster_name,
                "version": s.version,
                "region": args.region,
                "zones": zones,
                "endpointPublic": s.endpoint.public,
                "endpointPrivate": s.endpoint.private,
                "nodeGroups": [
                    {
                        "name": g.name,
                        "minSize": g.min_size,
                        "maxSize": g.max_size,
                        "desiredSize": g.desired,
                        "autoscaled": g.autoscaled,
                    }
                    for g in s.node_groups
                ],
            },
            opts,
        )
        self.cluster_name = args.cluster_name
        self.version = s.version
        self.region = args.region
        tags = {"rancher-stacks:cluster": args.cluster_name, **args.tags}

        self.aws_provider = aws.Provider(f"{name}-aws", region=args.region, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)

        # ---- network
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=s.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": args.cluster_name},
            opts=child,
        )
        self.vpc_id = vpc.id
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{args.cluster_name}-public"},
            opts=child,
        )
        self.private_subnet_ids = {}
        public_subnets: dict[str, aws.ec2.Subnet] = {}
        # Nodes in private subnets need their NAT route before they boot (to pull images and
        # reach the API endpoint): the cluster, and through it every node group, waits for these.
        routes: list[pulumi.Resource] = []
        for zone, (private_cidr, public_cidr) in subnet_cidrs(s.vpc_cidr, zones).items():
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=public_cidr,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{args.cluster_name}-public-{zone}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            routes.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
                )
            )
            public_subnets[zone] = public
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=private_cidr,
                tags={**tags, "Name": f"{args.cluster_name}-private-{zone}", "kubernetes.io/role/internal-elb": "1"},
                opts=child,
            )
            self.private_subnet_ids[zone] = private.id
        nat_zone = zones[0]
        nat_ip = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags=tags, opts=child)
        self.egress_ips = nat_ip.public_ip.apply(lambda ip: [ip])
        nat = aws.ec2.NatGateway(
            f"{name}-nat",
            allocation_id=nat_ip.id,
            subnet_id=public_subnets[nat_zone].id,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider, depends_on=[igw]),
        )
        private_rt = aws.ec2.RouteTable(
            f"{name}-private",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
            tags={**tags, "Name": f"{args.cluster_name}-private"},
            opts=child,
        )
        for zone, subnet_id in self.private_subnet_ids.items():
            routes.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-{zone}", subnet_id=subnet_id, route_table_id=private_rt.id, opts=child
                )
            )

        # ---- control plane
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of the Kubernetes secrets of EKS cluster {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=s.log_retention_days,
            tags=tags,
            opts=child,
        )
        cluster_role = aws.iam.Role(
            f"{name}-cluster", assume_role_policy=assume_role_policy("eks.amazonaws.com"), tags=tags, opts=child
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.name, policy_arn=CLUSTER_POLICY, opts=child
        )
        cluster_extra = aws.iam.Policy(
            f"{name}-cluster-extra",
            description=f"EKS cluster {args.cluster_name}: its secrets key, and no unmanaged log groups",
            policy=key.arn.apply(cluster_role_policy),
            tags=tags,
            opts=child,
        )
        cluster_extra_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-extra", role=cluster_role.name, policy_arn=cluster_extra.arn, opts=child
        )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=s.version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(self.private_subnet_ids.values()),
                endpoint_private_access=s.endpoint.private,
                endpoint_public_access=s.endpoint.public,
                public_access_cidrs=public_cidrs or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.aws_provider,
                depends_on=[logs, cluster_policy, cluster_extra_attachment, private_rt, *routes],
            ),
        )
        self.endpoint = cluster.endpoint
        self.node_security_group_id = cluster.vpc_config.apply(lambda v: v.cluster_security_group_id or "")
        self.oidc_issuer_url = cluster.identities.apply(_issuer)
        certificate = tls.get_certificate_output(url=self.oidc_issuer_url, opts=pulumi.InvokeOptions(parent=self))
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=[certificate.certificates.apply(lambda certs: certs[0].sha1_fingerprint)],
            tags=tags,
            opts=child,
        )
        self.oidc_provider_arn = oidc.arn

        # ---- nodes
        node_role = aws.iam.Role(
            f"{name}-node", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), tags=tags, opts=child
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{key_}", role=node_role.name, policy_arn=arn, opts=child)
            for key_, arn in NODE_POLICIES.items()
        ]
        self.node_group_asg_names = {}
        node_groups: list[aws.eks.NodeGroup] = []
        for group in s.node_groups:
            node_groups.append(self._node_group(name, args, group, cluster, node_role, node_policies, tags))

        # ---- Kubernetes access
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                cluster.name, cluster.endpoint, cluster.certificate_authority.apply(lambda ca: ca.data)
            ).apply(
                lambda a: render_kubeconfig(
                    cluster_name=a[0], endpoint=a[1], certificate_authority=a[2] or "", region=args.region
                )
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )
        self.register_outputs(
            {
                "clusterName": cluster.name,
                "endpoint": self.endpoint,
                "version": s.version,
                "oidcProviderArn": self.oidc_provider_arn,
                "nodeSecurityGroupId": self.node_security_group_id,
                "vpcId": self.vpc_id,
                "nodeGroupAsgNames": self.node_group_asg_names,
                "egressIps": self.egress_ips,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _node_group(
        self,
        name: str,
        args: KubernetesClusterArgs,
        group: NodeGroup,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        node_policies: list[aws.iam.RolePolicyAttachment],
        tags: dict[str, str],
    ) -> aws.eks.NodeGroup:
        child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)
        prefix = f"{name}-{group.name}"
        group_tags = {**tags, "rancher-stacks:node-group": group.name}
        template = aws.ec2.LaunchTemplate(
            prefix,
            description=f"EKS node group {group.name} of {args.cluster_name}: IMDSv2 only, encrypted gp3 root",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_gb, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=group_tags)
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            tags=group_tags,
            opts=child,
        )
        zones = sorted(set(group.zones)) or sorted(self.private_subnet_ids)
        node_group = aws.eks.NodeGroup(
            prefix,
            cluster_name=cluster.name,
            node_group_name=group.name,
            node_role_arn=node_role.arn,
            subnet_ids=[self.private_subnet_ids[z] for z in zones],
            instance_types=[group.instance_type],
            ami_type=AMI_TYPE,
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size, max_size=group.max_size, desired_size=group.desired
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=dict(group.labels) or None,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=TAINT_EFFECTS[t.effect])
                for t in group.taints
            ]
            or None,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            tags=group_tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.aws_provider,
                depends_on=node_policies,
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        asg_name = node_group.resources.apply(_asg_name)
        self.node_group_asg_names[group.name] = asg_name
        for key, value in asg_tags(args.cluster_name, group).items():
            suffix = key.removeprefix("k8s.io/cluster-autoscaler/").replace("/", "-")
            aws.autoscaling.Tag(
                f"{prefix}-asg-{suffix}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )
        return node_group
