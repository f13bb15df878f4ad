"""``kibana.yml`` (pure): Kibana talks to the coordinating nodes as ``kibana_system`` over HTTPS.

Secrets are ``${VAR}`` references that Kibana resolves from its environment
(https://www.elastic.co/guide/en/kibana/8.19/settings.html: "environment variables ... ${MY_ENV_VAR}"),
so the file holds none. The three encryption keys are the same on every Kibana instance (saved
objects and sessions must decrypt on any of them). ``monitoring.ui.container.elasticsearch.enabled``
is the image's default; Stack Monitoring reads the data the cluster collects about itself
(``xpack.monitoring.collection.enabled``): the cluster overview kopf used to give.
"""

from __future__ import annotations

from typing import Sequence

import yaml

HOME = "/usr/share/kibana"
CONFIG_PATH = f"{HOME}/config/kibana.yml"
CA_FILE = f"{HOME}/config/certs/ca.crt"
PORT = 5601
IMAGE_ENTRYPOINT = ["/bin/tini", "--", "/usr/local/bin/kibana-docker"]
PASSWORD_ENV = "KIBANA_SYSTEM_PASSWORD"
ENCRYPTION_ENV = "KIBANA_ENCRYPTION_KEY"
SAVED_OBJECTS_ENV = "KIBANA_SAVED_OBJECTS_KEY"
REPORTING_ENV = "KIBANA_REPORTING_KEY"


def render_kibana_yml(*, name: str, es_hosts: Sequence[str], public_url: str | None = None) -> str:
    if not es_hosts or not all(h.startswith("https://") for h in es_hosts):
        raise ValueError("Kibana needs the Elasticsearch HTTPS endpoints")
    settings: dict[str, object] = {
        "server.host": "0.0.0.0",
        "server.port": PORT,
        "server.name": name,
        "elasticsearch.hosts": list(es_hosts),
        "elasticsearch.username": "kibana_system",
        "elasticsearch.password": f"${{{PASSWORD_ENV}}}",
        "elasticsearch.ssl.certificateAuthorities": [CA_FILE],
        "elasticsearch.ssl.verificationMode": "full",
        "xpack.security.encryptionKey": f"${{{ENCRYPTION_ENV}}}",
        "xpack.encryptedSavedObjects.encryptionKey": f"${{{SAVED_OBJECTS_ENV}}}",
        "xpack.reporting.encryptionKey": f"${{{REPORTING_ENV}}}",
        "monitoring.ui.container.elasticsearch.enabled": True,
    }
    if public_url:
        settings["server.publicBaseUrl"] = public_url
    return "# rancher-stacks: Kibana\n" + yaml.safe_dump(settings, sort_keys=False)
