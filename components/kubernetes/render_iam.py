"""IAM documents of the cluster: pure functions returning JSON policy documents, no Pulumi.

* ``assume_role_policy``: a role an AWS service (EKS, EC2) may assume.
* ``irsa_trust_policy``: IAM roles for service accounts. The role trusts the cluster's OIDC
  provider for one ``system:serviceaccount:<namespace>:<name>`` subject and the ``sts.amazonaws.com``
  audience only (EKS User Guide, "Assign IAM roles to Kubernetes service accounts"; the condition
  keys are the issuer without ``https://`` followed by ``:sub`` and ``:aud``).
* ``autoscaler_policy``: what cluster-autoscaler calls on AWS (kubernetes/autoscaler
  cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster Autoscaler Features Policy", with
  ``autoscaling:DescribeTags`` for auto-discovery), the two mutating actions limited to Auto
  Scaling groups that carry this cluster's discovery tags. Auto Scaling supports the
  ``aws:ResourceTag/<key>`` condition on ``SetDesiredCapacity`` and
  ``TerminateInstanceInAutoScalingGroup`` (Amazon EC2 Auto Scaling User Guide, "Control access
  using tags"; the README recommends exactly this restriction). The read actions cannot be scoped
  by tag and stay on ``*``; they reveal sizes and instance types, nothing else.
"""

from __future__ import annotations

import json

ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"
STS_AUDIENCE = "sts.amazonaws.com"


def cluster_tag(cluster_name: str) -> str:
    """The per-cluster discovery tag key (its value is ignored by discovery; we set ``owned``)."""
    return f"k8s.io/cluster-autoscaler/{cluster_name}"


def assume_role_policy(service: str) -> str:
    """A trust policy letting the AWS service ``service`` (``eks.amazonaws.com``) assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def irsa_trust_policy(*, oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> str:
    """Trust for exactly one Kubernetes service account of the cluster, through its OIDC provider."""
    if not issuer_url.startswith("https://"):
        raise ValueError(f"an OIDC issuer is an https URL; got {issuer_url!r}")
    issuer = issuer_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


def cluster_role_policy(key_arn: str) -> str:
    """What the EKS cluster role needs beyond AmazonEKSClusterPolicy.

    * Use of the stack's KMS key for envelope encryption of secrets: ``kms:Encrypt``,
      ``kms:Decrypt``, ``kms:ListGrants``, ``kms:DescribeKey`` on that key only (the cluster
      encryption policy terraform-aws-eks attaches, main.tf ``aws_iam_policy.cluster_encryption``).
    * A deny of ``logs:CreateLogGroup``: the program creates ``/aws/eks/<name>/cluster`` with a
      retention first; without the deny, EKS would recreate a deleted group with none
      (terraform-aws-eks puts the same deny inline on its cluster role).
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SecretsEncryption",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                },
                {"Sid": "NoUnmanagedLogGroups", "Effect": "Deny", "Action": ["logs:CreateLogGroup"], "Resource": "*"},
            ],
        }
    )


READ_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
)
MUTATING_ACTIONS = ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup")


def autoscaler_policy(cluster_name: str) -> str:
    """cluster-autoscaler's permissions: reads anywhere, scaling only this cluster's tagged groups."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Discover", "Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"},
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": list(MUTATING_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            f"aws:ResourceTag/{cluster_tag(cluster_name)}": "owned",
                            f"aws:ResourceTag/{ENABLED_TAG}": "true",
                        }
                    },
                },
            ],
        }
    )
