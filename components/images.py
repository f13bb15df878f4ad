"""The images the workloads run by default, pinned to exact releases.

A floating tag (``mongo:7.0``, ``:latest``) changes what a redeploy or a restarted host pulls,
so a cluster can end up running a mix nobody tested. Each default names one release; the source
that says it exists is next to it. Update them deliberately (a plan diff shows the replaced
containers), and keep the tests' expectations in step.

* ``MONGO_IMAGE``: docker-library/mongo ``versions.json`` (commit 2c69a57, 2026-06-11): 7.0 is
  7.0.37, built on Ubuntu jammy.
* ``HAPROXY_IMAGE``: docker-library/haproxy ``versions.json`` (commit ec437dd, 2026-07-22): 3.0 is
  3.0.25 (the 3.0 LTS branch), on Debian trixie-slim.
* ``NODE_IMAGE``: nodejs/docker-node ``22/bookworm-slim/Dockerfile`` (commit f27d936,
  2026-08-19): ``NODE_VERSION=22.23.2`` on debian:bookworm-slim.
* The web app's base, ``python:3.12.13-slim-bookworm`` (apps/hitcounter/Dockerfile):
  docker-library/python ``versions.json`` (commit 4f07059, 2026-06-23): 3.12 is 3.12.13, with
  a ``slim-bookworm`` variant.
* ``GLUSTER_IMAGE``: gluster/gluster-containers publishes no release tags, only named builds; this
  one names the GlusterFS 4.0 build on CentOS 7 and is never re-pointed like ``latest``.
* The Elastic Stack (``ELASTICSEARCH_IMAGE``, ``LOGSTASH_IMAGE``, ``KIBANA_IMAGE``,
  ``FILEBEAT_IMAGE``): elastic/dockerfiles, branch ``8.19`` (commit f15851a, 2026-01-13): the
  Elasticsearch, Logstash and Kibana Dockerfiles label ``org.opencontainers.image.version``
  8.19.10. Elastic releases every Stack product (Beats included) under one version number
  (https://www.elastic.co/support/matrix#matrix_compatibility), so Filebeat 8.19.10 ships with
  them. 8.19 is the last 8.x minor; one version for all four keeps Filebeat, Logstash and
  Kibana no newer than Elasticsearch, as Elastic requires.
* ``REDIS_IMAGE``: docker-library/redis ``versions.json`` (commit e920499, 2024-06-28): 7.2 is
  7.2.5, on Debian bookworm-slim (``7.2/debian/Dockerfile``, user ``redis`` uid 999).
* ``NGINX_IMAGE``: nginx/docker-nginx ``stable/alpine/Dockerfile`` (commit 0d7f438,
  2026-04-14): the stable line is 1.30.0 (``FROM nginx:1.30.0-alpine-slim``).
"""

from __future__ import annotations

MONGO_IMAGE = "mongo:7.0.37"
HAPROXY_IMAGE = "haproxy:3.0.25"
NODE_IMAGE = "node:22.23.2-bookworm-slim"
GLUSTER_IMAGE = "gluster/gluster-centos:gluster4u0_centos7"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.19.10"
LOGSTASH_IMAGE = "docker.elastic.co/logstash/logstash:8.19.10"
KIBANA_IMAGE = "docker.elastic.co/kibana/kibana:8.19.10"
FILEBEAT_IMAGE = "docker.elastic.co/beats/filebeat:8.19.10"
REDIS_IMAGE = "redis:7.2.5"
NGINX_IMAGE = "nginx:1.30.0-alpine"
