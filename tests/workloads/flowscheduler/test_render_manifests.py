"""The flow scheduler's manifests: valid for the Kubernetes versions we target, least RBAC."""

from __future__ import annotations

import kubernetes_validate
import pytest
from flow_scheduler.lease import LeaseElector
from flow_scheduler.scheduler import DEFAULT_NAME

from rancher_stacks.workloads.flowscheduler.render_manifests import APP, SCHEDULER_NAME, render_manifests

IMAGE = "registry.example/rancher-stacks/flow-scheduler:0.1.0"


@pytest.mark.parametrize("version", ["1.31.0", "1.33.0", "1.35.0", "1.37.0"])
def test_every_manifest_validates_strictly(version: str) -> None:
    for manifest in render_manifests(image=IMAGE):
        kubernetes_validate.validate(manifest, version, strict=True)


def by_kind(manifests: list[dict]) -> dict[str, dict]:
    return {m["kind"]: m for m in manifests}


def test_rbac_grants_exactly_what_the_scheduler_calls() -> None:
    m = by_kind(render_manifests(image=IMAGE))
    cluster = {(tuple(r["resources"]), tuple(r["verbs"])) for r in m["ClusterRole"]["rules"]}
    assert cluster == {(("pods", "nodes"), ("get", "list", "watch")), (("pods/binding",), ("create",)),
                       (("pods/status",), ("patch",))}
    lease_rules = m["Role"]["rules"]
    assert lease_rules[1]["resourceNames"] == [APP] and lease_rules[1]["verbs"] == ["get", "update"]
    assert all("*" not in r["verbs"] and "*" not in r["resources"]
               for r in m["ClusterRole"]["rules"] + lease_rules)
    assert m["ClusterRoleBinding"]["subjects"] == [{"kind": "ServiceAccount", "name": APP, "namespace": "kube-system"}]


def test_the_deployment_matches_what_the_app_reads() -> None:
    deployment = by_kind(render_manifests(image=IMAGE))["Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert deployment["spec"]["replicas"] == 2
    assert env["SCHEDULER_NAME"]["value"] == SCHEDULER_NAME == DEFAULT_NAME
    assert env["LEASE_NAME"]["value"] == APP
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    probe = container["livenessProbe"]["httpGet"]
    assert probe == {"path": "/healthz", "port": "health"} and container["ports"][0]["name"] == "health"
    assert int(env["HEALTH_PORT"]["value"]) == container["ports"][0]["containerPort"]
    assert LeaseElector.__dataclass_fields__["duration_s"].default == 15
    assert spec["securityContext"]["runAsUser"] == 65532 and container["securityContext"]["readOnlyRootFilesystem"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert "priorityClassName" not in by_kind(render_manifests(image=IMAGE, namespace="scheduling"))["Deployment"][
        "spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image": "flow-scheduler"}, "must be pinned"),
        ({"image": "flow-scheduler:latest"}, "must be pinned"),
        ({"image": IMAGE, "namespace": "Kube_System"}, "DNS labels"),
        ({"image": IMAGE, "replicas": 0}, "at least 1"),
        ({"image": IMAGE, "batch_seconds": 0}, "between 0.1 and 60"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_manifests(**kwargs)
