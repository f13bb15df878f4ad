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
"""

from __future__ import annotations

MONGO_IMAGE = "mongo:7.0.37"
HAPROXY_IMAGE = "haproxy:3.0.25"
NODE_IMAGE = "node:22.23.2-bookworm-slim"
LINUX_DASH_IMAGE = "python:3.12.13-bookworm"
GLUSTER_IMAGE = "gluster/gluster-centos:gluster4u0_centos7"
