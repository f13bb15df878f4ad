"""``filebeat.yml`` of the shipper on every host (pure).

Reads the user Docker's JSON log files (``/var/lib/docker/containers/<id>/<id>-json.log``,
mounted read-only) with a ``filestream`` input and its ``container`` parser (the replacement of
the deprecated ``container`` input:
https://www.elastic.co/guide/en/beats/filebeat/8.19/filebeat-input-filestream.html#_container),
takes the container id from the path (``dissect``), adds the host, system and cloud as fields,
and sends to the collectors with ``loadbalance`` over mutual TLS (CA-verified server names and
this host's client certificate:
https://www.elastic.co/guide/en/beats/filebeat/8.19/logstash-output.html). No Docker socket is
mounted: container names are not looked up (the id is in every event; ``docker ps`` on the host
maps it to a name).
"""

from __future__ import annotations

from typing import Sequence

import yaml

HOME = "/usr/share/filebeat"
CONFIG_PATH = f"{HOME}/filebeat.yml"
CERT_DIR = f"{HOME}/certs"
CA_FILE = f"{CERT_DIR}/ca.crt"
CERT_FILE = f"{CERT_DIR}/shipper.crt"
KEY_FILE = f"{CERT_DIR}/shipper.key"
CONTAINERS_DIR = "/var/lib/docker/containers"
IMAGE_ENTRYPOINT = ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint", "-environment", "container"]


def render_filebeat_yml(*, host: str, system: str, cloud: str, collectors: Sequence[str]) -> str:
    """The shipper's config; ``collectors`` are ``address:port``."""
    if not collectors:
        raise ValueError("a shipper needs at least one collector")
    config = {
        "name": host,
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "docker-containers",
                "paths": [f"{CONTAINERS_DIR}/*/*-json.log"],
                "parsers": [{"container": {"stream": "all", "format": "docker"}}],
                "prospector.scanner.symlinks": False,
            }
        ],
        "processors": [
            {
                "dissect": {
                    "field": "log.file.path",
                    "tokenizer": f"{CONTAINERS_DIR}/%{{id}}/%{{file}}",
                    "target_prefix": "container",
                    "ignore_failure": True,
                }
            },
            {"drop_fields": {"fields": ["container.file"], "ignore_missing": True}},
            {
                "add_fields": {
                    "target": "rancher_stacks",
                    "fields": {"host": host, "system": system, "cloud": cloud},
                }
            },
        ],
        "output.logstash": {
            "hosts": list(collectors),
            "loadbalance": True,
            "ssl.enabled": True,
            "ssl.verification_mode": "full",
            "ssl.certificate_authorities": [CA_FILE],
            "ssl.certificate": CERT_FILE,
            "ssl.key": KEY_FILE,
        },
        "logging.to_stderr": True,
    }
    return "# rancher-stacks: log shipper\n" + yaml.safe_dump(config, sort_keys=False)
