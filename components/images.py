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
GLUSTER_IMAGE = "gluster/gluster-centos:gluster4u0_centos7"
JENKINS_IMAGE = "jenkins/jenkins:2.568.2-lts-jdk21"
JENKINS_AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-5-jdk21"
DIND_IMAGE = "docker:29.7.2-dind"
