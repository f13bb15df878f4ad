"""``python -m tools.compose2k8s``: kompose-style files, the hit counter, clean errors with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[3]
HITCOUNTER = ROOT / "apps" / "hitcounter" / "compose.yaml"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.compose2k8s", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_the_hit_counter_translates_to_kompose_named_files(tmp_path: Path) -> None:
    result = cli(str(HITCOUNTER), "-o", str(tmp_path), "--namespace", "hitcounter")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hitcounter-namespace.yaml",
        "web-deployment.yaml",
        "web-service.yaml",
    ]
    deployment = yaml.safe_load((tmp_path / "web-deployment.yaml").read_text())
    kubernetes_validate.validate(deployment, "1.33.0", strict=True)
    pod = deployment["spec"]["template"]["spec"]
    (app,) = pod["containers"]
    assert app["ports"] == [{"containerPort": 5000, "protocol": "TCP"}]
    env = {e["name"]: e for e in app["env"]}
    # The connection string (with the password) only ever comes from the Secret.
    assert env["MONGO_URL"] == {
        "name": "MONGO_URL",
        "valueFrom": {"secretKeyRef": {"name": "mongo-url", "key": "mongo-url"}},
    }
    assert env["PORT"]["value"] == "5000" and env["MONGO_DB"]["value"] == "hitcounter"
    assert app["readinessProbe"]["httpGet"] == {"path": "/healthcheck", "port": 5000}
    assert "/healthcheck" in app["livenessProbe"]["exec"]["command"][-1]
    assert app["securityContext"]["runAsUser"] == 10001 and app["securityContext"]["readOnlyRootFilesystem"]
    assert app["resources"]["requests"]["cpu"] == "100m"
    # tmpfs only: rolling updates stay possible (no Recreate).
    assert "strategy" not in deployment["spec"]
    assert deployment["spec"]["replicas"] == 2


def test_stdout_is_one_stream() -> None:
    result = cli(str(HITCOUNTER), "--stdout")
    assert result.returncode == 0, result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout)]
    assert kinds == ["Service", "Deployment"]


def test_a_file_that_does_not_parse_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: nginx\n    ports: [80\n")
    result = cli(str(bad))
    assert result.returncode == 2
    assert "compose.yaml:5: not valid YAML" in result.stderr or "compose.yaml:4: not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_an_untranslatable_feature_exits_2_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: nginx\n    devices: ['/dev/ttyUSB0']\n")
    result = cli(str(bad))
    assert result.returncode == 2
    assert "compose.yaml:4: service 'web': 'devices' cannot be translated" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_file_exits_2() -> None:
    result = cli("/nonexistent/compose.yaml")
    assert result.returncode == 2 and "cannot read the compose file" in result.stderr
