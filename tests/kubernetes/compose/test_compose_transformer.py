"""The transformer: compose semantics -> Kubernetes objects, every object valid for the API."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from root_tools import require_peer_fixtures

from rancher_stacks.kubernetes.compose import (
    ComposeError,
    Options,
    Source,
    horizontal_pod_autoscaler,
    load_project,
    pod_disruption_budget,
    transform,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT.parent / "shared" / "peers" / "kompose"
VERSIONS = ["1.33.0", "1.35.0"]


def translate(text: str, tmp_path: Path | None = None, **options: Any) -> dict[tuple[str, str], dict[str, Any]]:
    project = load_project([Source("compose.yaml", text)], environ={}, project_dir=tmp_path)
    return {(m["kind"], m["metadata"]["name"]): m for m in transform(project, Options(**options)).manifests}


def container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]


def test_a_web_service_becomes_a_deployment_and_a_service() -> None:
    objs = translate(
        "services:\n  web:\n    image: nginx:1.27\n    ports: ['8080:80', '53:53/udp']\n"
        "    environment: {B: 2, A: 1}\n    deploy:\n      replicas: 3\n"
        "      resources: {limits: {cpus: '0.5', memory: 512M}, reservations: {cpus: '0.25', memory: 64m}}\n"
    )
    deployment = objs[("Deployment", "web")]
    assert deployment["spec"]["replicas"] == 3
    c = container(deployment)
    assert c["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert c["resources"] == {
        "limits": {"cpu": "500m", "memory": "512Mi"},
        "requests": {"cpu": "250m", "memory": "64Mi"},
    }
    ports = objs[("Service", "web")]["spec"]["ports"]
    assert ports == [
        {"name": "8080", "port": 8080, "targetPort": 80},
        {"name": "53", "port": 53, "targetPort": 53, "protocol": "UDP"},
    ]


def test_a_replicated_service_with_named_volumes_becomes_a_statefulset() -> None:
    objs = translate(
        "services:\n  db:\n    image: mongo:7\n    ports: ['27017']\n    volumes: ['data:/data/db']\n"
        "    deploy: {replicas: 3}\nvolumes:\n  data: {}\n"
    )
    sts = objs[("StatefulSet", "db")]
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "db"
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    assert "volumes" not in sts["spec"]["template"]["spec"]
    assert ("PersistentVolumeClaim", "data") not in objs
    assert objs[("Service", "db")]["spec"]["clusterIP"] == "None"


def test_a_single_replica_with_a_named_volume_stays_a_deployment_with_a_claim() -> None:
    objs = translate(
        "services:\n  db:\n    image: postgres:16\n    volumes: ['pg:/var/lib/postgresql/data']\nvolumes:\n  pg:\n"
    )
    assert objs[("Deployment", "db")]["spec"]["strategy"] == {"type": "Recreate"}
    assert objs[("PersistentVolumeClaim", "pg")]["spec"]["resources"]["requests"]["storage"] == "100Mi"


def test_restart_no_is_a_pod_and_a_schedule_label_a_cronjob() -> None:
    objs = translate(
        "services:\n  once:\n    image: busybox\n    restart: 'no'\n"
        "  nightly:\n    image: busybox\n    restart: 'no'\n    labels: {kompose.cronjob.schedule: '0 3 * * *'}\n"
    )
    assert objs[("Pod", "once")]["spec"]["restartPolicy"] == "Never"
    assert objs[("CronJob", "nightly")]["spec"]["schedule"] == "0 3 * * *"


def test_placement_becomes_node_affinity_and_spread() -> None:
    objs = translate(
        "services:\n  w:\n    image: x\n    deploy:\n      placement:\n"
        "        constraints: ['node.labels.disk == ssd', 'node.platform.os != windows']\n"
        "        preferences: [{spread: node.labels.zone}]\n"
    )
    spec = objs[("Deployment", "w")]["spec"]["template"]["spec"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"] == [
        {"key": "disk", "operator": "In", "values": ["ssd"]},
        {"key": "kubernetes.io/os", "operator": "NotIn", "values": ["windows"]},
    ]
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "zone"


def test_expose_label_makes_an_ingress_with_tls() -> None:
    objs = translate(
        "services:\n  web:\n    image: x\n    ports: ['80']\n    labels:\n"
        "      kompose.service.expose: a.example.com/api\n      kompose.service.expose.tls-secret: web-tls\n"
    )
    ingress = objs[("Ingress", "web")]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "a.example.com" and rule["http"]["paths"][0]["path"] == "/api"
    assert ingress["spec"]["tls"] == [{"hosts": ["a.example.com"], "secretName": "web-tls"}]


def test_secrets_from_files_are_secrets_mounted_under_run_secrets(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_bytes(b"s3cret")
    objs = translate(
        "services:\n  db:\n    image: x\n    secrets: [db_pw]\nsecrets:\n  db_pw: {file: ./pw.txt}\n", tmp_path
    )
    secret = objs[("Secret", "db-pw")]
    assert base64.b64decode(secret["data"]["db_pw"]) == b"s3cret"
    mount = container(objs[("Deployment", "db")])["volumeMounts"][0]
    assert mount == {"name": "db-pw", "mountPath": "/run/secrets/db_pw", "subPath": "db_pw", "readOnly": True}


def test_a_secret_from_the_environment_is_refused_rather_than_written_in_clear() -> None:
    with pytest.raises(ComposeError, match="would be written in clear"):
        translate("services:\n  db:\n    image: x\n    secrets: [pw]\nsecrets:\n  pw: {environment: PW}\n")


def test_bind_mounted_files_become_config_maps_binary_ones_encoded_once(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.ini").write_text("a=1\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\xff")
    objs = translate(
        "services:\n  w:\n    image: x\n    volumes: ['./conf:/etc/app', './blob.bin:/opt/blob.bin:ro']\n", tmp_path
    )
    assert objs[("ConfigMap", "w-cm0")]["data"] == {"app.ini": "a=1\n"}
    assert base64.b64decode(objs[("ConfigMap", "w-cm1")]["binaryData"]["blob.bin"]) == b"\x00\x01\xff"


def test_env_files_become_config_maps_interpolated_with_the_service_environment(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("MODE=${MODE:-dev}\nX=1\n")
    objs = translate(
        "services:\n  w:\n    image: x\n    env_file: app.env\n    environment: {MODE: prod, Y: 2}\n", tmp_path
    )
    assert objs[("ConfigMap", "app-env")]["data"] == {"MODE": "prod", "X": "1"}
    c = container(objs[("Deployment", "w")])
    assert c["envFrom"] == [{"configMapRef": {"name": "app-env"}}]
    # MODE comes from the file's ConfigMap (where it was resolved), only Y stays inline.
    assert c["env"] == [{"name": "Y", "value": "2"}]


def test_namespace_option_stamps_every_object_and_emits_the_namespace() -> None:
    manifests = transform(
        load_project([Source("c.yaml", "services:\n  w: {image: x, ports: ['80']}\n")], environ={}),
        Options(namespace="apps"),
    ).manifests
    assert manifests[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    assert all(m["metadata"]["namespace"] == "apps" for m in manifests[1:])


@pytest.mark.parametrize(
    ("options", "message"),
    [({"controller": "replicaset"}, "controller must be one of"), ({"volumes": "nfs"}, "volumes must be one of")],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ComposeError, match=message):
        Options(**options)


def test_hpa_and_pdb_helpers() -> None:
    hpa = horizontal_pod_autoscaler("web", "Deployment", 2, 6, cpu=70)
    assert hpa["spec"]["metrics"][0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    pdb = pod_disruption_budget("web", min_available=1)
    assert pdb["spec"] == {"selector": {"matchLabels": {"io.kompose.service": "web"}}, "minAvailable": 1}
    for manifest in (hpa, pdb):
        for version in VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
    with pytest.raises(ComposeError, match="min"):
        horizontal_pod_autoscaler("web", "Deployment", 5, 2, cpu=70)
    with pytest.raises(ComposeError, match="exactly one"):
        pod_disruption_budget("web")


def fixture_manifests() -> list[tuple[str, dict[str, Any]]]:
    from tools.compose2k8s.cli import render
    from tools.kompose_agreement import flags_of

    require_peer_fixtures(FIXTURES / "index.json", "kompose fixtures")
    out = []
    for pair in json.loads((FIXTURES / "index.json").read_text()):
        if pair["status"] != "active":
            continue
        argv = [str(FIXTURES / f) for f in pair["compose_inputs"]] + flags_of(pair["kompose_cmd"]) + ["--stdout"]
        manifests, _, _ = render(argv, environ={})
        out += [(pair["id"], m) for m in manifests]
    manifests, _, _ = render([str(ROOT / "apps/hitcounter/compose.yaml"), "-n", "hitcounter"], environ={})
    out += [("hitcounter", m) for m in manifests]
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_everything_we_emit_for_the_fixtures_and_the_hit_counter_validates(version: str) -> None:
    manifests = fixture_manifests()
    assert len(manifests) > 100
    for source, manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except Exception as exc:  # noqa: BLE001 - name the object that failed
            pytest.fail(f"{source}: {manifest['kind']}/{manifest['metadata']['name']}: {exc}")


def test_loader_model_and_transformer_import_no_pulumi() -> None:
    code = (
        "import sys\n"
        "import rancher_stacks.kubernetes.compose.loader, rancher_stacks.kubernetes.compose.transformer\n"
        "print(sorted(m for m in sys.modules if m == 'pulumi' or m.startswith(('pulumi.', 'pulumi_'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
