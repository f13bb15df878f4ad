"""Which planned changes replace a resource, and which of those put data at risk.

A credential-free plan diff sees only inputs. Whether a changed input is an in-place update or a
replacement is the provider's business; this table holds, for the types the program uses, the
input paths whose change forces a new resource (Terraform's ``ForceNew``; the Pulumi SDKs'
docstrings say "Changing this forces a new resource"), with where that is stated. A path may use
``[*]`` for any list item. Types not listed are judged by ``UNLISTED``: an unknown type's change
is reported as "update (unclassified)", never silently as safe.

``STATEFUL`` are the types whose replacement loses data (a data volume comes back empty) and
``HOSTS`` those whose replacement re-attaches data volumes to a new machine (downtime; with
create-before-delete, an attachment that fails while the disk is still on the old machine).
``ADDRESSES`` are the static public addresses hosts keep across replacements; replacing one of
them is what changes a host's address.
"""

from __future__ import annotations

import re
from typing import Any, Final

MISSING: Final = object()
"""Stands for an input that is absent on one side (``tools.diff`` passes its own marker through)."""

# type token -> input paths whose change replaces the resource (ForceNew). Sources: the AWS
# provider's internal/service/ec2/{ebs_volume,ebs_volume_attachment,ec2_instance_migrate,
# ec2_key_pair,vpc_security_group,vpc_security_group_ingress_rule}.go; the google-beta provider's
# services/compute/resource_compute_{disk,attached_disk,instance,image,firewall,network,
# subnetwork}.go (v7.45.0); terraform-provider-digitalocean's volume, volume attachment, droplet,
# custom image and SSH key resources; pulumi-command's SDK (replaceOnChanges: triggers[*]).
# Every AWS resource is also replaced when its ``region`` changes.
REPLACES_ON: Final[dict[str, tuple[str, ...]]] = {
    "aws:ebs/volume:Volume": (
        "availabilityZone", "encrypted", "kmsKeyId", "multiAttachEnabled", "outpostArn", "snapshotId", "region",
    ),
    "aws:ec2/volumeAttachment:VolumeAttachment": ("deviceName", "instanceId", "volumeId", "region"),
    "aws:ec2/instance:Instance": (
        "ami", "associatePublicIpAddress", "availabilityZone", "subnetId", "keyName", "privateIp", "tenancy",
        "placementGroup", "ebsOptimized", "hibernation", "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId",
        "ipv6Addresses", "securityGroups", "region",
    ),
    "aws:ec2/keyPair:KeyPair": ("keyName", "keyNamePrefix", "publicKey", "region"),
    # ec2_eip.go: address, customer_owned_ipv4_pool, domain, network_border_group, public_ipv4_pool
    "aws:ec2/eip:Eip": ("address", "customerOwnedIpv4Pool", "domain", "networkBorderGroup", "publicIpv4Pool", "region"),
    # ec2_eip_association.go: every argument is ForceNew
    "aws:ec2/eipAssociation:EipAssociation": (
        "allocationId", "allowReassociation", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp",
        "region",
    ),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId", "region"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId", "region"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId", "region"),
    # dlm/lifecycle_policy.go: only policy_details.schedule.copy_tags is ForceNew; the schedule,
    # retention, target tags and state update in place.
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": ("policyDetails.schedules[*].copyTags", "region"),
    # iam/role.go: name, name_prefix and path are ForceNew (IAM is global: no region);
    # iam/role_policy_attachment.go: role and policy_arn are both ForceNew.
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    # resource_compute_resource_policy.go: region and project are ForceNew, the snapshot schedule
    # updates in place. A rename is counted as a replacement (the safe side): every
    # DiskResourcePolicyAttachment names the policy, and its name is ForceNew.
    "gcp:compute/resourcePolicy:ResourcePolicy": ("name", "region", "project"),
    # resource_compute_disk_resource_policy_attachment.go: disk, name, zone, project all ForceNew.
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": ("disk", "name", "zone", "project"),
    "gcp:compute/disk:Disk": (
        "name", "zone", "project", "type", "image", "snapshot", "sourceDisk", "description", "interface",
        "multiWriter", "licenses", "resourcePolicies", "diskEncryptionKey", "storagePool",
    ),
    "gcp:compute/attachedDisk:AttachedDisk": ("disk", "instance", "project", "zone", "deviceName", "mode", "interface"),
    "gcp:compute/instance:Instance": (
        "name", "zone", "project", "hostname", "metadataStartupScript", "bootDisk.deviceName", "bootDisk.source",
        "bootDisk.mode", "bootDisk.initializeParams.image", "bootDisk.initializeParams.type",
        "bootDisk.initializeParams.snapshot",
    ),
    "gcp:compute/image:Image": (
        "name", "description", "family", "diskSizeGb", "licenses", "storageLocations", "project", "rawDisk",
        "sourceDisk", "sourceImage", "sourceSnapshot",
    ),
    "gcp:compute/firewall:Firewall": ("name", "direction", "project"),
    # resource_compute_address.go: every field but labels is ForceNew
    "gcp:compute/address:Address": (
        "name", "address", "addressType", "description", "network", "networkTier", "prefixLength", "purpose",
        "region", "subnetwork", "ipVersion", "ipv6EndpointType", "project",
    ),
    "gcp:compute/network:Network": ("name", "autoCreateSubnetworks", "description", "project"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "network", "region", "project", "description"),
    # ---- EKS and its network. terraform-provider-aws internal/service/eks/cluster.go: name,
    # role_arn, bootstrap_self_managed_addons, access_config.bootstrap_cluster_creator_admin_permissions,
    # kubernetes_network_config.{ip_family,service_ipv4_cidr}, outpost_config and remote_network_config
    # are ForceNew; version, vpc_config (subnets, endpoints, CIDRs), logging and encryption_config
    # (which EKS can only add) update in place. eks/node_group.go: ami_type, capacity_type,
    # cluster_name, disk_size, instance_types, launch_template.{id,name}, node_group_name(_prefix),
    # node_role_arn, remote_access, subnet_ids are ForceNew; scaling, labels, taints, the launch
    # template version and the Kubernetes version update in place.
    "aws:eks/cluster:Cluster": (
        "name", "roleArn", "bootstrapSelfManagedAddons", "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "kubernetesNetworkConfig.ipFamily", "kubernetesNetworkConfig.serviceIpv4Cidr", "outpostConfig",
        "remoteNetworkConfig", "region",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id",
        "launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds",
        "region",
    ),
    # ec2/vpc_.go: cidr_block and the IPAM pool inputs are ForceNew (tenancy, DNS flags update).
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength", "ipv6IpamPoolId", "region"),
    # ec2/vpc_subnet.go: availability_zone(_id), cidr_block, vpc_id and outpost_arn are ForceNew.
    "aws:ec2/subnet:Subnet": ("availabilityZone", "availabilityZoneId", "cidrBlock", "vpcId", "outpostArn", "region"),
    # ec2/vpc_internet_gateway.go: vpc_id detaches and re-attaches in place.
    "aws:ec2/internetGateway:InternetGateway": ("region",),
    # ec2/vpc_route_table.go: vpc_id is ForceNew; routes update in place.
    "aws:ec2/routeTable:RouteTable": ("vpcId", "region"),
    # ec2/vpc_route_table_association.go: subnet_id and gateway_id are ForceNew (route_table_id
    # is replaced in place with ReplaceRouteTableAssociation).
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId", "region"),
    # ec2/vpc_nat_gateway.go: allocation_id, connectivity_type, private_ip and subnet_id are ForceNew.
    "aws:ec2/natGateway:NatGateway": ("allocationId", "connectivityType", "privateIp", "subnetId", "region"),
    # ec2/ec2_launch_template.go: only name/name_prefix are ForceNew; other changes add a version.
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix", "region"),
    # kms/key.go: customer_master_key_spec, key_usage, custom_key_store_id, multi_region and
    # xks_key_id are ForceNew; rotation, policy, description update in place.
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "customKeyStoreId", "multiRegion", "xksKeyId", "region"),
    # logs/group.go: name, name_prefix and log_group_class are ForceNew; retention updates in place.
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass", "region"),
    # iam/openid_connect_provider.go: url is ForceNew; client ids and thumbprints update in place.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    # iam/policy.go: name, name_prefix, path and description are ForceNew; the document updates.
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    # autoscaling/group_tag.go: both arguments are ForceNew.
    "aws:autoscaling/tag:Tag": ("autoscalingGroupName", "tag", "region"),
    # ecr/repository.go: name and encryption_configuration are ForceNew.
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations", "region"),
    # pulumi-kubernetes provider/pkg/provider (forceNew table): every object is replaced when
    # metadata.name or metadata.namespace changes; a Deployment also on spec.selector, a
    # (Cluster)RoleBinding on roleRef, a Service on spec.clusterIP/spec.type. policy/v1
    # PodDisruptionBudgets and the rest update in place (server-side apply).
    "kubernetes:core/v1:ServiceAccount": ("metadata.name", "metadata.namespace"),
    "kubernetes:core/v1:Service": ("metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": ("metadata.name",),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": ("metadata.name", "metadata.namespace"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("metadata.name", "roleRef"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("metadata.name", "metadata.namespace", "roleRef"),
    "kubernetes:apps/v1:Deployment": ("metadata.name", "metadata.namespace", "spec.selector"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("metadata.name", "metadata.namespace"),
    "kubernetes:apiregistration.k8s.io/v1:APIService": ("metadata.name",),
    # Same forceNew table (diff.go): a core/v1 Secret is also replaced when type, data or
    # stringData change, a ConfigMap when data or binaryData change (the provider treats them as
    # immutable and rolls the pods that mount them onto the new object); a Namespace and an
    # autoscaling/v2 HorizontalPodAutoscaler only on their names.
    "kubernetes:core/v1:Namespace": ("metadata.name",),
    "kubernetes:core/v1:Secret": ("metadata.name", "metadata.namespace", "type", "data", "stringData"),
    "kubernetes:core/v1:ConfigMap": ("metadata.name", "metadata.namespace", "data", "binaryData"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("metadata.name", "metadata.namespace"),
    "digitalocean:index/volume:Volume": (
        "region", "name", "description", "snapshotId", "initialFilesystemType", "initialFilesystemLabel",
    ),
    "digitalocean:index/volumeAttachment:VolumeAttachment": ("dropletId", "volumeId"),
    "digitalocean:index/droplet:Droplet": ("image", "region", "userData", "sshKeys", "vpcUuid", "monitoring"),
    # reservedip/resource_reserved_ip.go: only ``region`` is ForceNew (``ip_address`` is computed,
    # ``droplet_id`` is assigned in place by Update)
    "digitalocean:index/reservedIp:ReservedIp": ("region",),
    # reservedip/resource_reserved_ip_assignment.go: both arguments are ForceNew (it has no Update)
    "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": ("ipAddress", "dropletId"),
    "digitalocean:index/customImage:CustomImage": ("url",),
    "digitalocean:index/sshKey:SshKey": ("publicKey",),
    "digitalocean:index/tag:Tag": ("name",),
    "digitalocean:index/firewall:Firewall": (),  # rules and tags update in place
    "digitalocean:index/containerRegistry:ContainerRegistry": ("name", "region"),
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": ("registryName",),
    "docker:index/remoteImage:RemoteImage": ("name", "platform", "build", "triggers", "pullTriggers"),
    "docker:index/image:Image": (),  # rebuilt and pushed in place, never replaced
    "docker:index/network:Network": ("name", "driver", "options", "ipamConfigs", "internal", "attachable"),
    # kreuzwerker provider resource_docker_volume.go: name, labels, driver and driverOpts are ForceNew
    "docker:index/volume:Volume": ("name", "labels", "driver", "driverOpts"),
    "command:local:Command": ("triggers",),
    "command:remote:Command": ("triggers",),
}

# Generated secrets and certificates: every input forces a new one (terraform-provider-random and
# terraform-provider-tls mark each attribute RequiresReplace), so any change is a replacement.
EVERY_INPUT_REPLACES: Final = frozenset(
    {
        "random:index/randomPassword:RandomPassword",
        "tls:index/privateKey:PrivateKey",
        "tls:index/certRequest:CertRequest",
        "tls:index/locallySignedCert:LocallySignedCert",
        "tls:index/selfSignedCert:SelfSignedCert",
    }
)

# A container is replaced by a change of any input but these (kreuzwerker provider
# resource_docker_container.go: everything else is ForceNew; Pulumi deletes before replacing).
CONTAINER = "docker:index/container:Container"
CONTAINER_IN_PLACE: Final = frozenset(
    {
        "rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun", "restart", "maxRetryCount",
        "removeVolumes", "tmpfs", "deviceReadBps", "deviceReadIops", "deviceWriteBps", "deviceWriteIops",
        "destroyGraceSeconds", "memory", "memoryReservation", "memorySwap", "cpuShares", "cpuSet", "cpuPeriod",
        "cpuQuota", "healthcheck", "init", "containerReadRefreshTimeoutMilliseconds",
    }
)
_SG_SOURCES: Final = ("cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId")

STATEFUL: Final = frozenset(
    {"aws:ebs/volume:Volume", "gcp:compute/disk:Disk", "digitalocean:index/volume:Volume"}
)
HOSTS: Final = frozenset(
    {"aws:ec2/instance:Instance", "gcp:compute/instance:Instance", "digitalocean:index/droplet:Droplet"}
)
# The static public addresses hosts are reached at: replacing one gives the host a new address,
# which peers, URLs and certificates may have recorded (a replaced host keeps its address).
ADDRESSES: Final = frozenset(
    {"aws:ec2/eip:Eip", "gcp:compute/address:Address", "digitalocean:index/reservedIp:ReservedIp"}
)


def _pattern(path: str) -> re.Pattern[str]:
    escaped = re.escape(path).replace(r"\[\*\]", r"\[\d+\]")
    return re.compile(rf"^{escaped}(\.|\[|$)")


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def replacing(type_: str, changes: list[tuple[str, Any, Any]]) -> list[str]:
    """The changed input paths (``(path, base, head)``) that make the provider replace a resource."""
    paths = [p for p, _, _ in changes]
    if type_ in EVERY_INPUT_REPLACES:
        return paths
    if type_ == CONTAINER:
        return [p for p in paths if _top(p) not in CONTAINER_IN_PLACE]
    patterns = [_pattern(p) for p in REPLACES_ON.get(type_, ())]
    found = [path for path in paths if any(p.match(path) for p in patterns)]
    if type_ == "gcp:compute/disk:Disk":
        # Growing a disk is in place; shrinking it replaces (ForceNewIfChange size, IsDiskShrinkage).
        found += [p for p, b, h in changes if p == "size" and isinstance(b, int) and isinstance(h, int) and h < b]
    if type_.startswith("aws:vpc/securityGroup") and type_.endswith("Rule"):
        # A value may change in place, but a rule's source type (CIDR, prefix list, group) may not.
        found += [p for p, b, h in changes if p in _SG_SOURCES and (b is MISSING) != (h is MISSING)]
    return found


def classified(type_: str) -> bool:
    """Whether the table knows ``type_`` (else a change is reported as unclassified)."""
    return type_ in REPLACES_ON or type_ == CONTAINER or type_ in EVERY_INPUT_REPLACES


def under(inner: str, outer: str) -> bool:
    """Whether property path ``inner`` is ``outer`` or lies beneath it (``a.b``, ``a[0]``)."""
    return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))


def ignored(path: str, ignore_changes: list[str]) -> bool:
    """Whether the engine leaves ``path`` alone: it is, or lies under, an ``ignoreChanges`` entry."""
    return any(under(path, entry) for entry in ignore_changes)


def input_may_replace(type_: str, path: str, ignore_changes: list[str]) -> bool:
    """Whether a new value at input ``path`` (``keyName``, ``bootDisk.initializeParams.image``)
    may replace a ``type_`` resource.

    True when a forcing path lies at, above or under ``path`` and ``ignore_changes`` does not
    cover the narrower of the two; an unclassified type is assumed to be replaced (never
    silently safe).
    """

    def skipped(p: str) -> bool:
        return ignored(p, ignore_changes)

    if type_ in EVERY_INPUT_REPLACES:
        return not skipped(path)
    if type_ == CONTAINER:
        return _top(path) not in CONTAINER_IN_PLACE and not skipped(path)
    if type_ not in REPLACES_ON:
        return not skipped(path)
    for forcing in REPLACES_ON[type_]:
        forcing = forcing.replace("[*]", "")
        if under(path, forcing) and not skipped(path):
            return True
        if under(forcing, path) and not skipped(forcing):
            return True
    return False
