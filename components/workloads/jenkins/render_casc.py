"""The controller's whole configuration as one JCasC document, and the first pipeline (pure).

Everything Jenkins needs is here, so a new controller (a replaced host reattaching the retained
home volume, or a first start) converges on the same configuration; nothing is clicked in the UI:

* **Security.** The local user database with one administrator, ``allowsSignup: false``; the
  password is never in the document, only the variable ``${ADMIN_PASSWORD}``, which JCasC resolves
  from the controller container's environment at load time (configuration-as-code-plugin
  ``docs/features/secrets.adoc``: variables come from the environment, system properties or
  secret sources). Authorization is the matrix-auth plugin's global matrix with only the
  administrator listed, so anonymous users hold no permission at all, not even Overall/Read
  (matrix-auth 3.x JCasC form, ``entries: - user: {name, permissions}``). CSRF protection is the
  default crumb issuer, stated explicitly (``crumbIssuer: standard``).
* **Controller executors: 0**, so no build ever runs in the controller's JVM or on its home.
* **Agents.** One permanent node per agent host, launched inbound over WebSocket
  (``launcher: inbound: webSocket: true``, JNLPLauncher's ``inbound`` symbol): agents connect
  through the controller's HTTP port, so the TCP agent port is disabled (``slaveAgentPort: -1``)
  and 50000 is never opened anywhere.
* **The first pipeline**, created by the Job DSL plugin from ``jobs:``: a Pipeline job whose
  script checks the project out, builds ``apps/hitcounter`` with its Dockerfile on an agent and
  smoke-tests the image (see :func:`render_pipeline`).

Only top-level keys Jenkins knows are emitted (:data:`TOP_LEVEL_KEYS`); the YAML is produced by
PyYAML, never by string concatenation.

Sources (jenkinsci/configuration-as-code-plugin at 58646eb6, 2026-08-17): ``demos/build_agents``
(``permanent`` nodes, ``launcher: inbound: webSocket: true``), ``demos/matrix-auth`` (the
``globalMatrix: entries:`` form), ``docs/features/secrets.adoc`` (``${VAR}`` resolution, and
``^${...}`` as the escape: the pipeline below avoids ``${`` altogether, so the password is the
document's only variable), README ("CASC_JENKINS_CONFIG": a file or a directory of ``.yaml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import yaml

from ...config import check_label

# The root elements JCasC and the plugins installed here declare (configuration-as-code-plugin
# README: "jenkins", "security", "unclassified", "tool", "credentials"; Job DSL adds "jobs").
TOP_LEVEL_KEYS: frozenset[str] = frozenset({"jenkins", "security", "unclassified", "tool", "jobs", "credentials"})
ADMIN_PASSWORD_VARIABLE = "ADMIN_PASSWORD"
# Where each agent keeps its workspaces inside its container (jenkins/inbound-agent's
# AGENT_WORKDIR default, jenkinsci/docker-agent README).
AGENT_REMOTE_FS = "/home/jenkins/agent"

_NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_USER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_JOB = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_REPOSITORY = re.compile(r"^(https://|ssh://|git@)[A-Za-z0-9@:/._~+-]+$")


@dataclass(frozen=True)
class AgentNode:
    """One inbound agent node: its name (the agent host's), labels and executors."""

    name: str
    labels: tuple[str, ...]
    executors: int = 2

    def __post_init__(self) -> None:
        if not _NODE_NAME.match(self.name):
            raise ValueError(f"node name {self.name!r}: lower-case letters, digits and '-'")
        for label in self.labels:
            check_label(label)
        if not 1 <= self.executors <= 16:
            raise ValueError(f"node {self.name}: executors must be 1 to 16; got {self.executors}")


@dataclass(frozen=True)
class Pipeline:
    """The first job: build and test the hit counter from ``repository`` at ``branch``."""

    repository: str
    branch: str = "main"
    label: str = "docker"
    name: str = "hitcounter"
    app_path: str = "apps/hitcounter"

    def __post_init__(self) -> None:
        if not _REPOSITORY.match(self.repository):
            raise ValueError(f"pipeline repository {self.repository!r}: an https://, ssh:// or git@ Git URL")
        if not _BRANCH.match(self.branch):
            raise ValueError(f"pipeline branch {self.branch!r} is not a branch name")
        check_label(self.label)
        if not _JOB.match(self.name):
            raise ValueError(f"job name {self.name!r}: lower-case letters, digits and '-'")


@dataclass(frozen=True)
class CascSpec:
    """What the JCasC document says."""

    url: str
    admin_user: str = "admin"
    nodes: Sequence[AgentNode] = field(default_factory=tuple)
    pipeline: Optional[Pipeline] = None
    system_message: str = "Configured by rancher-stacks (JCasC); changes made in the UI are overwritten."

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^\s]+/$", self.url):
            raise ValueError(f"Jenkins URL {self.url!r} must be http(s)://... ending in '/'")
        if not _USER.match(self.admin_user):
            raise ValueError(f"admin user {self.admin_user!r}: lower-case letters, digits, '_' or '-'")
        names = [n.name for n in self.nodes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"agent nodes defined twice: {', '.join(repeated)}")
        if self.pipeline is not None:
            offering = [n.name for n in self.nodes if self.pipeline.label in n.labels]
            if not offering:
                raise ValueError(
                    f"job {self.pipeline.name} runs on label {self.pipeline.label!r}, which no agent node carries"
                )


# --------------------------------------------------------------------------- the pipeline


def render_build_step(app_path: str) -> str:
    """The shell of the Build stage: the app's own Dockerfile, on the agent's dind daemon."""
    return f'docker build --pull -t "hitcounter:ci-$BUILD_NUMBER" {app_path}\n'


def render_test_step() -> str:
    """The shell of the Test stage: start the built image and require its health check to pass.

    The image's own HEALTHCHECK (apps/hitcounter/Dockerfile) probes ``/healthcheck``, which answers
    without the database; the step waits (60 s at most) for Docker to report the container
    healthy, then asks the endpoint once more itself. The container and image are removed
    whatever happens, so the dind daemon does not fill up with test leftovers.
    """
    return "\n".join(
        [
            "set -eu",
            'image="hitcounter:ci-$BUILD_NUMBER"',
            'name="hitcounter-ci-$BUILD_NUMBER"',
            "cleanup() {",
            '    docker rm -f "$name" >/dev/null 2>&1 || true',
            '    docker image rm "$image" >/dev/null 2>&1 || true',
            "}",
            "trap cleanup EXIT",
            'docker run -d --name "$name" "$image"',
            "i=0",
            'until [ "$(docker inspect -f "{{.State.Health.Status}}" "$name")" = healthy ]; do',
            "    i=$((i + 1))",
            '    if [ "$i" -ge 30 ]; then',
            '        docker logs "$name" >&2',
            '        echo "the hit counter never became healthy" >&2',
            "        exit 1",
            "    fi",
            "    sleep 2",
            "done",
            'docker exec "$name" python -c "import urllib.request; '
            "urllib.request.urlopen('http://127.0.0.1:5000/healthcheck', timeout=3)\"",
            "",
        ]
    )


def _gstring_literal(shell: str) -> str:
    """``shell`` as the body of a Groovy ``\"\"\"`` string: backslashes and ``$`` escaped."""
    if '"""' in shell:
        raise ValueError('a pipeline shell step may not contain """')
    return shell.replace("\\", "\\\\").replace("$", "\\$")


def render_pipeline(pipeline: Pipeline) -> str:
    """The scripted Pipeline of the first job (Groovy), runs on an agent with ``pipeline.label``."""
    return "\n".join(
        [
            f"node('{pipeline.label}') {{",
            "    stage('Checkout') {",
            f"        git url: '{pipeline.repository}', branch: '{pipeline.branch}'",
            "    }",
            "    stage('Build') {",
            f'        sh """{_gstring_literal(render_build_step(pipeline.app_path))}"""',
            "    }",
            "    stage('Test') {",
            f'        sh """{_gstring_literal(render_test_step())}"""',
            "    }",
            "}",
            "",
        ]
    )


def render_job_dsl(pipeline: Pipeline) -> str:
    """The Job DSL script creating the job; the pipeline sits in a Groovy ``'''`` string."""
    script = render_pipeline(pipeline)
    if "'''" in script:
        raise ValueError("the pipeline may not contain '''")
    body = script.replace("\\", "\\\\")
    return "\n".join(
        [
            f"pipelineJob('{pipeline.name}') {{",
            "    description('Builds apps/hitcounter with its Dockerfile on a dind agent and smoke-tests the image.')",
            "    definition {",
            "        cps {",
            "            sandbox(true)",
            f"            script('''{body}''')",
            "        }",
            "    }",
            "}",
            "",
        ]
    )


# --------------------------------------------------------------------------- the document


def casc_document(spec: CascSpec) -> dict[str, Any]:
    """The JCasC document as data."""
    jenkins: dict[str, Any] = {
        "systemMessage": spec.system_message,
        "numExecutors": 0,
        "mode": "EXCLUSIVE",
        # WebSocket agents only: the TCP inbound port is off.
        "slaveAgentPort": -1,
        "securityRealm": {
            "local": {
                "allowsSignup": False,
                "users": [{"id": spec.admin_user, "password": "${" + ADMIN_PASSWORD_VARIABLE + "}"}],
            }
        },
        "authorizationStrategy": {
            "globalMatrix": {"entries": [{"user": {"name": spec.admin_user, "permissions": ["Overall/Administer"]}}]}
        },
        "crumbIssuer": {"standard": {"excludeClientIPFromCrumb": False}},
        "disableRememberMe": True,
        "nodes": [
            {
                "permanent": {
                    "name": node.name,
                    "labelString": " ".join(node.labels),
                    "numExecutors": node.executors,
                    "mode": "EXCLUSIVE",
                    "remoteFS": AGENT_REMOTE_FS,
                    "launcher": {"inbound": {"webSocket": True}},
                    "retentionStrategy": "always",
                }
            }
            for node in sorted(spec.nodes, key=lambda n: n.name)
        ],
    }
    document: dict[str, Any] = {
        "jenkins": jenkins,
        "unclassified": {"location": {"url": spec.url}},
    }
    if spec.pipeline is not None:
        document["jobs"] = [{"script": render_job_dsl(spec.pipeline)}]
    unknown = set(document) - TOP_LEVEL_KEYS
    assert not unknown, unknown
    return document


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the Job DSL script) as literal blocks, so the file reads as written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_casc(spec: CascSpec) -> str:
    """The JCasC YAML (``jenkins.yaml``)."""
    header = "# Rendered by rancher-stacks (workloads/jenkins/render_casc.py); do not edit by hand.\n"
    body = yaml.dump(casc_document(spec), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return header + body
