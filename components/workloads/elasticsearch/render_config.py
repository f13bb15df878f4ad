"""Pure renderers of one Elasticsearch node: ``elasticsearch.yml``, its entrypoint, the setup script.

**Settings** (Elasticsearch reference, 8.x): ``node.roles`` per tier (``[master]`` for dedicated
masters, ``[master, data, ingest]`` when the masters also hold the data, ``[data, ingest]``,
``[]`` for coordinating-only nodes; https://www.elastic.co/guide/en/elasticsearch/reference/8.19/modules-node.html);
``discovery.seed_hosts`` lists the master-eligible nodes' transport addresses;
``bootstrap.memory_lock`` with an unlimited memlock ulimit on the container; TLS on transport
(``verification_mode: full``: each node's certificate names its address) and HTTP, from the
logging CA (https://www.elastic.co/guide/en/elasticsearch/reference/8.19/security-settings.html).
``xpack.monitoring.collection.enabled`` makes the cluster collect its own monitoring data, which
Kibana's Stack Monitoring shows: that is what replaces kopf's cluster overview.

**First bootstrap only.** ``cluster.initial_master_nodes`` must be set when a new cluster forms
and never again ("remove it once the cluster has formed", reference: "Bootstrapping a cluster",
https://www.elastic.co/guide/en/elasticsearch/reference/8.19/modules-discovery-bootstrap-cluster.html).
It is therefore NOT in this file (which never changes between runs): the entrypoint adds
``-Ecluster.initial_master_nodes=...`` only while the node's data directory lacks the marker
:data:`FORMED_MARKER`, which the program writes into every master's data directory once the
cluster has answered a health check (``render_mark_formed``). A restarted or re-created container
keeps its data directory and so starts without the setting; only a master whose data volume is
new (empty) sees it again, and such a node joins the master it discovers through
``discovery.seed_hosts`` instead of bootstrapping.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Literal, Sequence

import yaml

from ..render_tls_files import SecretFile, render_tls_entrypoint

Tier = Literal["master", "data", "coordinating"]
HOME = "/usr/share/elasticsearch"
CONFIG_PATH = f"{HOME}/config/elasticsearch.yml"
DATA_PATH = f"{HOME}/data"
CERT_DIR = f"{HOME}/config/certs"
CA_FILE = f"{CERT_DIR}/ca.crt"
CERT_FILE = f"{CERT_DIR}/node.crt"
KEY_FILE = f"{CERT_DIR}/node.key"
ENTRYPOINT_PATH = "/usr/local/bin/rancher-stacks-entrypoint.sh"
FORMED_MARKER_NAME = "rancher-stacks-cluster-formed"
FORMED_MARKER = f"{DATA_PATH}/{FORMED_MARKER_NAME}"
# The image: user elasticsearch is uid 1000, group 0 (elastic/dockerfiles 8.19, elasticsearch/
# Dockerfile: USER 1000:0); its entrypoint is tini -> docker-entrypoint.sh with "eswrapper".
UID_GID = "1000:0"
IMAGE_ENTRYPOINT = ["/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh", "eswrapper"]
HTTP_PORT = 9200
TRANSPORT_PORT = 9300
CA_ENV, CERT_ENV, KEY_ENV = "RS_TLS_CA", "RS_TLS_CERT", "RS_TLS_KEY"


def node_roles(tier: Tier, masters_hold_data: bool) -> list[str]:
    """``node.roles`` of a node of ``tier``."""
    if tier == "master":
        return ["master", "data", "ingest"] if masters_hold_data else ["master"]
    if tier == "data":
        return ["data", "ingest"]
    return []


@dataclass(frozen=True)
class NodeSettings:
    cluster_name: str
    node_name: str
    roles: list[str]
    publish_host: str
    seed_hosts: list[str]
    http_port: int = HTTP_PORT
    transport_port: int = TRANSPORT_PORT
    extra: dict[str, object] = field(default_factory=dict)


def render_elasticsearch_yml(node: NodeSettings) -> str:
    """The node's ``elasticsearch.yml`` (no secret in it: keys are files, passwords elsewhere)."""
    if not node.seed_hosts:
        raise ValueError("discovery.seed_hosts needs the master-eligible nodes")
    settings: dict[str, object] = {
        "cluster.name": node.cluster_name,
        "node.name": node.node_name,
        "node.roles": list(node.roles),
        "network.host": "0.0.0.0",
        "network.publish_host": node.publish_host,
        "http.publish_port": node.http_port,
        "transport.publish_port": node.transport_port,
        "discovery.seed_hosts": list(node.seed_hosts),
        "bootstrap.memory_lock": True,
        "xpack.security.enabled": True,
        "xpack.security.transport.ssl.enabled": True,
        "xpack.security.transport.ssl.verification_mode": "full",
        "xpack.security.transport.ssl.client_authentication": "required",
        "xpack.security.transport.ssl.key": KEY_FILE,
        "xpack.security.transport.ssl.certificate": CERT_FILE,
        "xpack.security.transport.ssl.certificate_authorities": [CA_FILE],
        "xpack.security.http.ssl.enabled": True,
        "xpack.security.http.ssl.key": KEY_FILE,
        "xpack.security.http.ssl.certificate": CERT_FILE,
        "xpack.security.http.ssl.certificate_authorities": [CA_FILE],
        "xpack.monitoring.collection.enabled": True,
        **node.extra,
    }
    return "# rancher-stacks: rendered, do not edit on the host\n" + yaml.safe_dump(settings, sort_keys=False)


def render_entrypoint(
    initial_master_nodes: Sequence[str],
    *,
    data_path: str = DATA_PATH,
    cert_dir: str = CERT_DIR,
    exec_prefix: Sequence[str] = ("setpriv", "--reuid=1000", "--regid=0", "--clear-groups"),
) -> str:
    """The node's entrypoint: certificates from the environment (owned by the ES user), the data
    directory made the ES user's, ``cluster.initial_master_nodes`` only before the cluster
    formed, then the image's entrypoint as uid 1000 (``setpriv``, util-linux in ubuntu:24.04)."""
    if not initial_master_nodes:
        raise ValueError("initial_master_nodes needs the master-eligible node names")
    joined = shlex.quote("-Ecluster.initial_master_nodes=" + ",".join(initial_master_nodes))
    marker = shlex.quote(f"{data_path}/{FORMED_MARKER_NAME}")
    prepare = "\n".join(
        [
            f"chown {UID_GID} {shlex.quote(data_path)} && chmod 0770 {shlex.quote(data_path)}",
            f'if [ ! -e {marker} ]; then set -- "$@" {joined}; fi',
        ]
    )
    return render_tls_entrypoint(
        [
            SecretFile(CA_ENV, f"{cert_dir}/ca.crt", "0440"),
            SecretFile(CERT_ENV, f"{cert_dir}/node.crt", "0440"),
            SecretFile(KEY_ENV, f"{cert_dir}/node.key", "0400"),
        ],
        owner=UID_GID,
        prepare=prepare,
        exec_prefix=exec_prefix,
    )


# The indexers' role: create daily indices of their own prefix and write documents; nothing else.
# (Security privileges: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/security-privileges.html)
INDEX_PREFIX = "rancher-logs-"


def writer_role() -> dict[str, object]:
    return {
        "cluster": ["monitor"],
        "indices": [
            {"names": [f"{INDEX_PREFIX}*"], "privileges": ["create_index", "create_doc", "view_index_metadata"]}
        ],
    }


def _curl(container: str, method: str, path: str, body_from_stdin: bool) -> str:
    """sh: one authenticated HTTPS request made inside ``container`` (as the elastic user).

    The password is the container's own ELASTIC_PASSWORD; it reaches curl through a config file
    descriptor (``-K``), written by bash's printf builtin, so it never shows in a process list.
    """
    data = " -H 'Content-Type: application/json' --data-binary @-" if body_from_stdin else ""
    inner = (
        "curl -sS --fail-with-body --retry 3 --cacert "
        + CA_FILE
        + ' -K <(printf \'user = "elastic:%s"\\n\' "$ELASTIC_PASSWORD")'
        + f' -X {method}{data} "https://localhost:{HTTP_PORT}{path}"'
    )
    return f"docker exec -i {shlex.quote(container)} bash -c {shlex.quote(inner)}"


def render_setup_script(*, container: str, writer_user: str, writer_role_name: str, attempts: int = 60) -> str:
    """sh run next to the first HTTP node: wait for the cluster, then set the users, idempotently.

    Reads two lines on stdin: the ``kibana_system`` password, then the indexers' user's
    password. Every request is a PUT/POST of the full desired state (role, user, password), so a
    second run changes nothing and a new password is simply set again.
    """
    role = json.dumps(writer_role())
    health = _curl(container, "GET", "/_cluster/health?wait_for_status=yellow&timeout=10s", False)
    lines = [
        "set -eu",
        "IFS= read -r KIBANA_PW",
        "IFS= read -r WRITER_PW",
        f"i=0; until {health} >/dev/null; do i=$((i+1)); "
        f"if [ \"$i\" -ge {attempts} ]; then echo 'the cluster did not become available' >&2; exit 1; fi; "
        "sleep 10; done",
        f"printf '%s' {shlex.quote(role)} | "
        + _curl(container, "PUT", f"/_security/role/{writer_role_name}", True)
        + " >/dev/null",
        'printf \'{"password":"%s","roles":["'
        + writer_role_name
        + '"]}\' "$WRITER_PW" | '
        + _curl(container, "PUT", f"/_security/user/{writer_user}", True)
        + " >/dev/null",
        'printf \'{"password":"%s"}\' "$KIBANA_PW" | '
        + _curl(container, "POST", "/_security/user/kibana_system/_password", True)
        + " >/dev/null",
        "echo 'users and roles are set'",
    ]
    return "\n".join(lines) + "\n"


MIN_MAX_MAP_COUNT = 262144


def render_max_map_count_check(image: str) -> str:
    """sh: fail, saying what to run, when the daemon's kernel has ``vm.max_map_count`` below what
    Elasticsearch's bootstrap checks require. For the local daemon, whose kernel the program does
    not configure; read through a container, so Docker Desktop's VM is what is checked."""
    if not re.match(r"^[a-z0-9][a-z0-9./:_@-]*$", image):
        raise ValueError(f"bad image {image!r}")
    return (
        f"v=$(docker run --rm --entrypoint cat {image} /proc/sys/vm/max_map_count); "
        f'if [ "$v" -lt {MIN_MAX_MAP_COUNT} ]; then echo "vm.max_map_count is $v on the Docker host; '
        f'Elasticsearch needs {MIN_MAX_MAP_COUNT}: sudo sysctl -w vm.max_map_count={MIN_MAX_MAP_COUNT}" >&2; exit 1; fi'
    )


def render_mark_formed(container: str) -> str:
    """sh: record in a master's data directory that the cluster has formed (see module doc)."""
    return f"docker exec {shlex.quote(container)} touch {FORMED_MARKER}"
