"""Shell the deployment runs next to the controller's Docker daemon (pure; checked by shellcheck).

* :func:`render_prepare` runs **before** the controller starts and again whenever the JCasC
  document changes. In a throw-away container of the controller image (so it works alike over
  SSH and on the local daemon, and needs no sudo), as root: make the home directory the image's
  ``jenkins`` user's (uid 1000, jenkinsci/docker README: "running as uid 1000"; the data
  directories are created root-owned) and replace ``jenkins.yaml`` atomically with the document
  read from standard input. Then, if the controller is already running, ask JCasC to reload
  (``POST /configuration-as-code/reload``, configuration-as-code-plugin
  ``docs/features/configurationReload.md``; ``ConfigurationAsCode.doReload`` is ``@RequirePOST``
  and needs Overall/Manage, so the POST carries the CSRF crumb of the same session): adding or
  removing agents rewrites the node definitions without restarting Jenkins. With a password
  (not an API token) Jenkins wants a crumb, and since 2.176.2 one issued to the same web session
  (CloudBees KB "CSRF Protection Explained", which also gives the ``crumbIssuer/api/xml?xpath=``
  form used here), hence the cookie jar.
* :func:`render_fetch_secret` prints one agent node's secret, once the controller is up and the
  node exists: ``GET /computer/<node>/jenkins-agent.jnlp`` as the administrator returns the
  inbound launch file whose first ``<argument>`` is the node's secret. The secret is an HMAC of
  the node name under a key kept in ``JENKINS_HOME/secrets``, so fetching again returns the same
  value: the step is idempotent and survives a controller replacement that keeps the home.

Both read the administrator's password where it already is, the controller container's own
environment (``docker exec``; ``ADMIN_PASSWORD`` is what JCasC reads too), and hand it to curl on
curl's standard input (``-K -``, a config file), so it is never in an SSH environment variable,
a command line or a log.
"""

from __future__ import annotations

import re
import shlex

from .render_casc import ADMIN_PASSWORD_VARIABLE

_CONTAINER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_PATH = re.compile(r"^/[A-Za-z0-9_.@/-]+$")
_NODE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_USER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
JENKINS_UID = 1000
CASC_FILE = "jenkins.yaml"


def _curl_auth(user: str) -> str:
    """sh (inside the controller) printing a curl config with the admin's credentials."""
    return f'printf \'user = "%s:%s"\\n\' {user} "${ADMIN_PASSWORD_VARIABLE}"'


def render_reload(user: str, port: int = 8080) -> str:
    """sh run inside the controller: reload JCasC with a crumb of one session (cookie jar)."""
    base = f"http://127.0.0.1:{port}"
    crumb_url = f'{base}/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\\":\\",//crumb)'
    return "; ".join(
        [
            "set -eu",
            'jar="$(mktemp)"',
            "trap 'rm -f \"$jar\"' EXIT",
            f'crumb="$({_curl_auth(user)} | curl -fsS -K - -c "$jar" \'{crumb_url}\')"',
            f'{_curl_auth(user)} | curl -fsS -K - -b "$jar" -H "$crumb" -X POST '
            f"'{base}/configuration-as-code/reload' >/dev/null",
            "echo 'JCasC reloaded'",
        ]
    )


def render_prepare(
    *, image: str, controller: str, home_dir: str, casc_dir: str, admin_user: str, port: int = 8080
) -> str:
    """sh on the controller's host: own the home, install jenkins.yaml from stdin, reload if up."""
    if not _CONTAINER.match(controller):
        raise ValueError(f"container name {controller!r} is not valid")
    for path in (home_dir, casc_dir):
        if not _PATH.match(path):
            raise ValueError(f"path {path!r} must be a plain absolute path")
    if not _USER.match(admin_user):
        raise ValueError(f"admin user {admin_user!r} is not valid")
    inner = (
        f"set -eu; chown {JENKINS_UID}:{JENKINS_UID} /home; "
        f"cat > /casc/{CASC_FILE}.new; chmod 0644 /casc/{CASC_FILE}.new; mv /casc/{CASC_FILE}.new /casc/{CASC_FILE}"
    )
    return "\n".join(
        [
            "set -eu",
            (
                f"docker run --rm -i --user 0 --entrypoint /bin/sh "
                f"-v {shlex.quote(home_dir)}:/home -v {shlex.quote(casc_dir)}:/casc "
                f"{shlex.quote(image)} -c {shlex.quote(inner)}"
            ),
            f"if [ \"$(docker inspect -f '{{{{.State.Running}}}}' {controller} 2>/dev/null || true)\" = true ]; then",
            f"    docker exec {controller} sh -c {shlex.quote(render_reload(admin_user, port))}",
            "fi",
            "",
        ]
    )


def render_fetch_secret(
    *, controller: str, node: str, admin_user: str, port: int = 8080, attempts: int = 60, interval: int = 5
) -> str:
    """sh on the controller's host printing ``node``'s inbound secret (64 hex digits), nothing else."""
    if not _CONTAINER.match(controller):
        raise ValueError(f"container name {controller!r} is not valid")
    if not _NODE.match(node):
        raise ValueError(f"node name {node!r} is not valid")
    if not _USER.match(admin_user):
        raise ValueError(f"admin user {admin_user!r} is not valid")
    url = f"http://127.0.0.1:{port}/computer/{node}/jenkins-agent.jnlp"
    inner = "; ".join(
        [
            "set -eu",
            "i=0",
            (
                f"until secret=\"$({_curl_auth(admin_user)} | curl -fsS -K - '{url}' 2>/dev/null "
                "| sed -n 's/.*<argument>\\([0-9a-f]\\{64\\}\\)<\\/argument>.*/\\1/p' | head -n 1)\" "
                '&& [ -n "$secret" ]; do '
                f'i=$((i + 1)); if [ "$i" -ge {attempts} ]; then '
                f"echo 'no secret for node {node}: is the controller up and the node defined?' >&2; exit 1; fi; "
                f"sleep {interval}; done"
            ),
            "printf '%s' \"$secret\"",
        ]
    )
    return f"set -eu\ndocker exec {controller} sh -c {shlex.quote(inner)}\n"


def agent_environment(
    *,
    controller_url: str,
    node: str,
    secret_file: str,
    workdir: str,
    docker_host: str,
    cert_path: str,
) -> list[str]:
    """How an agent container launches: the environment the image's ``jenkins-agent`` entrypoint
    turns into remoting's arguments (jenkinsci/docker-agent ``jenkins-agent``: ``JENKINS_URL`` to
    ``-url``, ``JENKINS_SECRET`` to ``-secret``, ``JENKINS_AGENT_NAME`` to ``-name``,
    ``JENKINS_WEB_SOCKET=true`` to ``-webSocket``, ``JENKINS_AGENT_WORKDIR`` to ``-workDir``), plus
    the docker CLI's (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``).

    The secret is never a value here: ``@<file>`` makes remoting read it from the file.
    """
    if not re.match(r"^https?://[A-Za-z0-9.-]+(:\d+)?/$", controller_url):
        raise ValueError(f"controller URL {controller_url!r} must be http(s)://host[:port]/")
    if not _NODE.match(node):
        raise ValueError(f"node name {node!r} is not valid")
    for path in (secret_file, workdir, cert_path):
        if not _PATH.match(path):
            raise ValueError(f"path {path!r} must be a plain absolute path")
    if not re.match(r"^tcp://[a-z0-9.-]+:2376$", docker_host):
        raise ValueError(f"DOCKER_HOST {docker_host!r} must be tcp://<name>:2376 (the TLS port)")
    return [
        f"JENKINS_URL={controller_url}",
        f"JENKINS_AGENT_NAME={node}",
        f"JENKINS_SECRET=@{secret_file}",
        "JENKINS_WEB_SOCKET=true",
        f"JENKINS_AGENT_WORKDIR={workdir}",
        f"DOCKER_HOST={docker_host}",
        "DOCKER_TLS_VERIFY=1",
        f"DOCKER_CERT_PATH={cert_path}",
    ]
