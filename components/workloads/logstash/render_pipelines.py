"""Logstash pipelines of the collectors and the indexers (pure renderers).

Collectors: a Beats input on 5044 with TLS and required client certificates from the logging
CA, into one Redis list. Indexers: that list into Elasticsearch over HTTPS (CA-verified) as
their own least-privilege user. Secrets are ``${VAR}`` references, resolved by Logstash from
the container's environment (https://www.elastic.co/guide/en/logstash/8.19/environment-variables.html),
so the rendered files hold none.

Option names, for the plugins bundled with Logstash 8.19:
* beats input (logstash-plugins/logstash-input-beats ``docs/index.asciidoc``, commit a0220a6):
  ``ssl_enabled``, ``ssl_certificate``, ``ssl_key`` (PKCS#8 PEM only), ``ssl_certificate_authorities``
  and ``ssl_client_authentication => "required"``, which replaced the deprecated
  ``ssl_verify_mode => "force_peer"``;
* redis input/output: ``host``, ``port``, ``password``, ``data_type => "list"``, ``key``
  (https://www.elastic.co/guide/en/logstash/8.19/plugins-outputs-redis.html);
* elasticsearch output: ``hosts``, ``ssl_enabled``, ``ssl_certificate_authorities`` (which
  replaced ``cacert``), ``user``, ``password``, ``index``, ``action``, ``data_stream``,
  ``manage_template``, ``ilm_enabled``
  (https://www.elastic.co/guide/en/logstash/8.19/plugins-outputs-elasticsearch.html).
"""

from __future__ import annotations

import json
from typing import Sequence

BEATS_PORT = 5044
REDIS_KEY = "rancher-stacks-logs"
REDIS_PASSWORD_ENV = "REDIS_PASSWORD"
ES_PASSWORD_ENV = "ES_WRITER_PASSWORD"
CERT_DIR = "/usr/share/logstash/config/certs"
CA_FILE = f"{CERT_DIR}/ca.crt"
CERT_FILE = f"{CERT_DIR}/logstash.crt"
KEY_FILE = f"{CERT_DIR}/logstash.pkcs8.key"
PIPELINE_PATH = "/usr/share/logstash/pipeline/logstash.conf"


def _q(value: str) -> str:
    """A Logstash config string (double-quoted; JSON escaping is a subset it reads)."""
    if "${" in value and not value.startswith("${"):
        raise ValueError(f"unexpected substitution in {value!r}")
    return json.dumps(value)


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def render_collector_pipeline(*, redis_host: str, redis_port: int = 6379, port: int = BEATS_PORT) -> str:
    """Beats (mutual TLS) -> the Redis list."""
    if not redis_host:
        raise ValueError("the collectors need the Redis host")
    return f"""# rancher-stacks: log collector (Beats with client certificates -> Redis)
input {{
  beats {{
    port => {port}
    ssl_enabled => true
    ssl_certificate => {_q(CERT_FILE)}
    ssl_key => {_q(KEY_FILE)}
    ssl_certificate_authorities => {_list([CA_FILE])}
    ssl_client_authentication => "required"
  }}
}}
output {{
  redis {{
    host => {_list([redis_host])}
    port => {redis_port}
    password => "${{{REDIS_PASSWORD_ENV}}}"
    data_type => "list"
    key => {_q(REDIS_KEY)}
  }}
}}
"""


def render_indexer_pipeline(
    *, redis_host: str, redis_port: int = 6379, es_hosts: Sequence[str], user: str, index_prefix: str
) -> str:
    """The Redis list -> Elasticsearch (HTTPS, CA-verified, as ``user``), daily indices."""
    if not es_hosts or not all(h.startswith("https://") for h in es_hosts):
        raise ValueError("the indexers need the Elasticsearch HTTPS endpoints")
    return f"""# rancher-stacks: log indexer (Redis -> Elasticsearch)
input {{
  redis {{
    host => {_q(redis_host)}
    port => {redis_port}
    password => "${{{REDIS_PASSWORD_ENV}}}"
    data_type => "list"
    key => {_q(REDIS_KEY)}
  }}
}}
output {{
  elasticsearch {{
    hosts => {_list(list(es_hosts))}
    ssl_enabled => true
    ssl_certificate_authorities => {_list([CA_FILE])}
    user => {_q(user)}
    password => "${{{ES_PASSWORD_ENV}}}"
    index => {_q(index_prefix + "%{+YYYY.MM.dd}")}
    action => "create"
    data_stream => false
    manage_template => false
    ilm_enabled => false
  }}
}}
"""
