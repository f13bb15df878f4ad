"""The Kubernetes-target rules, each passing and failing: EKS endpoint exposure, node group
bounds, Deployment replicas and PodDisruptionBudgets."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import UNKNOWN, policy_names, res, run

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
LABELS = {"app.kubernetes.io/name": "web", "tier": "front"}


def cluster(**vpc: Any) -> dict[str, Any]:
    return res(CLUSTER, "eks", {"name": "c", "vpcConfig": {"subnetIds": ["subnet-1", "subnet-2"], **vpc}})


@pytest.mark.parametrize(
    ("vpc", "flagged"),
    [
        ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}, False),
        ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, False),
        ({"endpointPublicAccess": False, "publicAccessCidrs": ["0.0.0.0/0"]}, False),  # no public endpoint at all
        ({"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}, True),
        ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "::/0"]}, True),
        ({"endpointPublicAccess": True}, True),  # EKS's default CIDR list is 0.0.0.0/0
        ({}, True),  # and its default is a public endpoint
        ({"endpointPublicAccess": True, "publicAccessCidrs": UNKNOWN}, False),
        ({"endpointPublicAccess": UNKNOWN}, False),
    ],
)
def test_eks_endpoint_restricted(vpc: dict[str, Any], flagged: bool) -> None:
    assert ("eks-endpoint-restricted" in policy_names(run([cluster(**vpc)]))) is flagged


def node_group(low: Any, desired: Any, high: Any) -> dict[str, Any]:
    return res(NODE_GROUP, "ng", {"scalingConfig": {"minSize": low, "desiredSize": desired, "maxSize": high}})


@pytest.mark.parametrize(
    ("sizes", "flagged"),
    [
        ((2, 2, 6), False),
        ((2.0, 3.0, 6.0), False),  # the engine's numbers are floats
        ((3, 3, 3), False),  # fixed size: no autoscaling, max may equal min
        ((1, 1, 1), False),
        ((0, 0, 1), True),  # autoscaled (0..1) with a max below 2
        ((4, 2, 6), True),  # desired below min
        ((2, 7, 6), True),  # desired above max
        ((5, 5, 3), True),  # min above max
        ((2, UNKNOWN, 6), False),
    ],
)
def test_nodegroup_autoscaling_bounds(sizes: tuple[Any, Any, Any], flagged: bool) -> None:
    assert ("k8s-nodegroup-autoscaling-bounds" in policy_names(run([node_group(*sizes)]))) is flagged


def deployment(replicas: Any = 2, namespace: str | None = "apps", labels: Any = None, name: str = "web") -> dict:
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    spec: dict[str, Any] = {"selector": {"matchLabels": LABELS},
                            "template": {"metadata": {"labels": LABELS if labels is None else labels}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return res(DEPLOYMENT, name, {"metadata": meta, "spec": spec})


def pdb(selector: Any = None, namespace: str | None = "apps", kind: str = PDB) -> dict:
    meta: dict[str, Any] = {"name": "web", **({"namespace": namespace} if namespace else {})}
    return res(kind, "web-pdb", {"metadata": meta,
                                 "spec": {"minAvailable": 1, "selector": {"matchLabels": selector or LABELS}}})


@pytest.mark.parametrize(
    ("resources", "flagged"),
    [
        ([deployment(), pdb()], False),
        ([deployment(), pdb(selector={"tier": "front"})], False),  # a subset of the pod labels selects them
        ([deployment(namespace=None), pdb(namespace=None)], False),  # both in "default"
        ([deployment(replicas=1), pdb()], True),
        ([deployment(replicas=None), pdb()], True),  # absent replicas means 1
        ([deployment()], True),  # no budget at all
        ([deployment(), pdb(namespace="other")], True),  # budget in another namespace
        ([deployment(), pdb(selector={"tier": "back"})], True),  # selects other pods
        ([deployment(), pdb(kind="kubernetes:policy/v1beta1:PodDisruptionBudget")], True),  # not policy/v1
        ([deployment(replicas=UNKNOWN, labels=UNKNOWN), pdb()], False),  # not known yet: not judged
    ],
)
def test_workload_redundancy(resources: list[dict], flagged: bool) -> None:
    assert ("k8s-workload-redundancy" in policy_names(run(resources))) is flagged


def test_each_deployment_is_judged_on_its_own() -> None:
    found = run([deployment(), pdb(), deployment(name="api", labels={"app": "api"})])
    assert {v["resource"] for v in found if v["policy"] == "k8s-workload-redundancy"} == {"api"}
