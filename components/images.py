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
* ``LINUX_DASH_IMAGE`` (Linux Dash on every host, hosts/render_linux_dash.py): the same
  docker-library/python ``versions.json`` (commit 4f07059) lists a ``bookworm`` variant of 3.12.13;
  ``3.12/bookworm/Dockerfile`` there is ``FROM buildpack-deps:bookworm``, whose ``-scm`` layer
  installs ``procps`` (``ps``), which Linux Dash's process tables need and the slim variant lacks.
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
* ``JENKINS_IMAGE``: jenkinsci/docker tag ``2.568.2`` (commit 53f5d618, 2026-08-04), the current
  LTS line; ``docker-bake.hcl``'s ``debian_tags`` publishes ``<JENKINS_VERSION>-lts-jdk21`` for an
  LTS build with JDK 21 on Debian (trixie). The controller image is built ``FROM`` it.
* ``JENKINS_AGENT_IMAGE``: jenkinsci/docker-agent tag ``3355.v388858a_47b_33-5`` (commit 6780e76,
  2025-12-30); ``linux_tags`` in its ``docker-bake.hcl`` publishes
  ``jenkins/inbound-agent:<REMOTING_VERSION>-<BUILD_NUMBER>-jdk21`` for the Debian default.
* ``DIND_IMAGE``: docker-library/docker ``versions.json`` (commit 3289af8, 2026-08-06): 29 is
  29.7.2; ``generate-stackbrew-library.sh`` tags the ``dind`` variant ``<version>-dind``.
"""

from __future__ import annotations

MONGO_IMAGE = "mongo:7.0.37"
HAPROXY_IMAGE = "haproxy:3.0.25"
NODE_IMAGE = "node:22.23.2-bookworm-slim"
LINUX_DASH_IMAGE = "python:3.12.13-bookworm"
GLUSTER_IMAGE = "gluster/gluster-centos:gluster4u0_centos7"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.19.10"
LOGSTASH_IMAGE = "docker.elastic.co/logstash/logstash:8.19.10"
KIBANA_IMAGE = "docker.elastic.co/kibana/kibana:8.19.10"
FILEBEAT_IMAGE = "docker.elastic.co/beats/filebeat:8.19.10"
REDIS_IMAGE = "redis:7.2.5"
NGINX_IMAGE = "nginx:1.30.0-alpine"


# --------------------------------------------------------------------------- Kubernetes (EKS)
#
# The Kubernetes minor versions a ``kubernetes`` stack may pin, each with the add-on images built
# for it. A version is listed only when EKS offers it as of late 2026 AND both add-ons have a
# release for it; anything else is refused by the config (``kubernetes.version``).
#
# EKS versions (a minor version gets 14 months of standard support, then 12 months of extended
# support at extra cost per cluster hour: EKS User Guide, "Understand the Kubernetes version
# lifecycle on EKS"). Dates from endoflife.date/amazon-eks (crawled 2026-02) and the user guide:
#   1.33  released 2025-05-28, standard support to 2026-07-29, extended to 2027-07-29  (extended now)
#   1.34  released 2025-10-06, standard support to 2026-12-02, extended to 2027-12-02  (extended now)
#   1.35  released 2026-01-28, standard support to 2027-03-27, extended to 2028-03-27  (standard)
#   1.36  the user guide's current example version ({k8s-n}) in its 2026 pages     (standard)
# 1.32 and older leave extended support by early 2027 and are not offered for new clusters here.
#
# cluster-autoscaler: "the image tag should match the Kubernetes minor version" (the chart's
# image.tag, kubernetes/autoscaler charts/cluster-autoscaler/README.md). Newest patch tag of each
# minor in kubernetes/autoscaler (snapshot 55c37cd, 2026-08-22): cluster-autoscaler-1.33.6,
# -1.34.5, -1.35.2 and -1.36.1 (all tagged 2026-07-22); images at registry.k8s.io/autoscaling.
#
# metrics-server: kubernetes-sigs/metrics-server README, "Compatibility Matrix" (tag v0.9.0,
# 2026-07-13): 0.9.x supports Kubernetes 1.34+, 0.8.x 1.31+; the release kustomization points the
# image at registry.k8s.io/metrics-server/metrics-server (manifests/components/release).


class KubernetesRelease:
    """The add-on images for one Kubernetes minor version."""

    def __init__(self, autoscaler: str, metrics_server: str) -> None:
        self.autoscaler_image = f"registry.k8s.io/autoscaling/cluster-autoscaler:v{autoscaler}"
        self.metrics_server_image = f"registry.k8s.io/metrics-server/metrics-server:v{metrics_server}"


EKS_VERSIONS: dict[str, KubernetesRelease] = {
    "1.33": KubernetesRelease(autoscaler="1.33.6", metrics_server="0.8.1"),
    "1.34": KubernetesRelease(autoscaler="1.34.5", metrics_server="0.9.0"),
    "1.35": KubernetesRelease(autoscaler="1.35.2", metrics_server="0.9.0"),
    "1.36": KubernetesRelease(autoscaler="1.36.1", metrics_server="0.9.0"),
}
JENKINS_IMAGE = "jenkins/jenkins:2.568.2-lts-jdk21"
JENKINS_AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-5-jdk21"
DIND_IMAGE = "docker:29.7.2-dind"
