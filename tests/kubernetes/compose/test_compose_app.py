"""``ComposeApp`` under the mock engine: typed resources parented to it, on the given provider,
the secrets secret end to end, claims retained, the HPA and PDB helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from rancher_stacks.kubernetes.compose import ComposeError, Source
from rancher_stacks.kubernetes.compose.app import ComposeApp, ComposeAppArgs
from tools.mockengine import SECRET, ProgramRun, run_program

ROOT = Path(__file__).resolve().parents[3]
HITCOUNTER = ROOT / "apps" / "hitcounter" / "compose.yaml"
MONGO_URL = "mongodb://app:pw-not-in-plan@10.0.1.1:27017/?replicaSet=rs0"
IMAGE = "registry.example/hitcounter@sha256:0123"


def hit_counter(**extra: object) -> ProgramRun:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        app = ComposeApp(
            "hc",
            ComposeAppArgs(
                files=[HITCOUNTER],
                namespace="hitcounter",
                create_namespace=True,
                secrets={"mongo-url": pulumi.Output.secret(MONGO_URL)},
                configs={"mongo-ca": "-----BEGIN CERTIFICATE-----\n"},
                images={"web": pulumi.Output.from_input(IMAGE)},
                autoscaled=["web"],
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        app.add_autoscaler("web", min_replicas=2, max_replicas=6, cpu_percent=70)
        app.add_disruption_budget("web", min_available=1)

    return run_program(program)


def test_every_object_is_a_typed_child_on_the_provider() -> None:
    run = hit_counter()
    app = run.by_name("hc")
    children = run.children_of(app.urn)
    assert sorted(r.type for r in children) == [
        "kubernetes:apps/v1:Deployment",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Secret",
        "kubernetes:core/v1:Service",
        "kubernetes:policy/v1:PodDisruptionBudget",
    ]
    provider = run.by_name("cluster")
    assert all(r.provider_urn == provider.urn for r in children)
    deployment = run.by_name("hc-deployment-web")
    assert deployment.inputs["metadata"]["namespace"] == "hitcounter"
    assert deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    hpa = run.by_name("hc-horizontalpodautoscaler-web")
    assert hpa.inputs["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert hpa.inputs["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert deployment.urn in hpa.dependencies
    pdb = run.by_name("hc-poddisruptionbudget-web")
    assert pdb.inputs["spec"]["minAvailable"] == 1


def test_the_connection_string_is_secret_and_never_in_the_plan() -> None:
    run = hit_counter()
    secret = run.by_name("hc-secret-mongo-url")
    assert secret.inputs["stringData"] == SECRET
    assert MONGO_URL not in json.dumps([r.inputs for r in run.resources])
    assert "pw-not-in-plan" not in json.dumps([r.outputs for r in run.resources], default=str)


def test_claims_are_retained() -> None:
    def program() -> None:
        ComposeApp(
            "db",
            ComposeAppArgs(
                files=[
                    Source(
                        "c.yaml",
                        "services:\n  db:\n    image: postgres:16\n    volumes: ['pg:/data']\nvolumes:\n  pg:\n",
                    )
                ],
                namespace="data",
            ),
        )

    run = run_program(program)
    claim = run.by_name("db-persistentvolumeclaim-pg")
    assert claim.retain_on_delete


def test_an_external_secret_without_a_value_is_an_error() -> None:
    def program() -> None:
        ComposeApp("hc", ComposeAppArgs(files=[HITCOUNTER], namespace="hitcounter", configs={"mongo-ca": "x"}))

    with pytest.raises(ComposeError, match="secret 'mongo-url' is external"):
        run_program(program)


def test_a_cpu_autoscaler_needs_a_cpu_request() -> None:
    def program() -> None:
        app = ComposeApp(
            "w",
            ComposeAppArgs(
                files=[Source("c.yaml", "services:\n  web: {image: nginx:1.27}\n")], namespace="w", autoscaled=["web"]
            ),
        )
        app.add_autoscaler("web", min_replicas=2, max_replicas=4, cpu_percent=60)

    with pytest.raises(ComposeError, match="needs a CPU request"):
        run_program(program)


def test_an_autoscaled_workload_leaves_its_replica_count_to_the_autoscaler() -> None:
    assert hit_counter().by_name("hc-deployment-web").ignore_changes == ["spec.replicas"]

    def program() -> None:
        app = ComposeApp(
            "w", ComposeAppArgs(files=[Source("c.yaml", "services:\n  web: {image: nginx:1.27}\n")], namespace="w")
        )
        app.add_autoscaler("web", min_replicas=2, max_replicas=4, cpu_percent=60)

    with pytest.raises(ComposeError, match="list it in ComposeAppArgs.autoscaled"):
        run_program(program)
