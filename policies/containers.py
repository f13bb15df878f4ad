"""privileged-containers-allowlist: only allow-listed images run privileged, anywhere in the stack.

A ``docker:index/container:Container`` with ``privileged: true`` holds every capability and every
device of its host. Only images matching one of ``privilegedImages`` (fnmatch patterns, matched
against the image reference the container runs) may: by default the Docker-in-Docker daemon
(``docker:*-dind``: a Docker daemon needs it, docker-library/docs ``docker/content.md``) and the
Gluster server (``gluster/gluster-centos:*``: glusterd under systemd). The image reference is the
container's ``image`` when it names one, otherwise that of the image resource the container's
``image`` comes from (a ``docker:index/remoteImage:RemoteImage``'s ``name`` or a
``docker:index/image:Image``'s ``imageName``, found among its dependencies), since the project's
containers run the pulled image's id. A privileged container whose image cannot be named that
way fails: the allow-list is mandatory.

The narrower host-level privileges, a capability outside Docker's default set (``SYS_ADMIN``,
``NET_ADMIN``, ``ALL``, ...), a host device, or AppArmor or seccomp turned off
(``apparmor=unconfined``/``seccomp=unconfined`` in ``securityOpts``, either spelling ``=`` or
``:``), are allowed by container name instead (``privilegedContainers``; by default the Gluster
servers and the game's FUSE volume containers), since they are granted per task, not per image.

A container that publishes ports never holds any of them, allow-listed or not: a process that
faces the internet gets no host-level privilege.

Re-adding a capability of Docker's default set after ``drops: [ALL]`` grants nothing beyond what
every container has (Docker run reference, "Runtime privilege and Linux capabilities": the
default set is CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP,
SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL and AUDIT_WRITE), so it is not a privilege here.
Values not known yet are not judged.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import config
from .props import as_bool, as_str, has_entries, is_unknown, items_of, known_strings, lookup

DOCKER_CONTAINER: Final = "docker:index/container:Container"
DOCKER_REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
DOCKER_IMAGE: Final = "docker:index/image:Image"

DOCKER_DEFAULT_CAPABILITIES: Final = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip

UNCONFINED_OPTS: Final = frozenset(
    {"apparmor=unconfined", "apparmor:unconfined", "seccomp=unconfined", "seccomp:unconfined"}
)


def _capability(name: str) -> str:
    """``cap_sys_admin``, ``CAP_SYS_ADMIN`` and ``sys_admin`` all name ``SYS_ADMIN``."""
    upper = name.strip().upper()
    return upper[4:] if upper.startswith("CAP_") else upper


def is_privileged(props: Any) -> bool:
    """``privileged: true``."""
    return as_bool(lookup(props, "privileged")) is True


def container_privileges(props: Any) -> list[str]:
    """The narrower host-level privileges a container's inputs grant, each as a short phrase."""
    found = []
    for added in known_strings(lookup(props, "capabilities", "adds")):
        cap = _capability(added)
        if cap not in DOCKER_DEFAULT_CAPABILITIES:
            found.append(f"capability {cap}")
    for device in items_of(lookup(props, "devices")):
        if is_unknown(device):
            continue
        path = as_str(lookup(device, "hostPath")) or "?"
        found.append(f"device {path}")
    for opt in known_strings(lookup(props, "securityOpts")):
        if "".join(opt.split()).lower() in UNCONFINED_OPTS:
            found.append(f"security option {opt}")
    return found


def publishes_ports(props: Any) -> bool:
    """True when the container publishes at least one port (or its ports are not known yet)."""
    return has_entries(lookup(props, "ports"))


def _names_an_image(value: str) -> bool:
    """An image reference rather than an image id (``sha256:...``)."""
    return not value.startswith("sha256:")


def image_reference(resource: PolicyResource) -> str | None:
    """The image reference a container runs, or ``None`` when nothing names it.

    Raises the SDK's ``UnknownValueError`` (through the props proxy) when it is not known yet.
    """
    image = lookup(resource.props, "image")
    if isinstance(image, str) and not is_unknown(image) and _names_an_image(image):
        return image
    for dependency in resource.dependencies:
        if dependency.resource_type == DOCKER_REMOTE_IMAGE:
            name = as_str(lookup(dependency.props, "name"))
        elif dependency.resource_type == DOCKER_IMAGE:
            name = as_str(lookup(dependency.props, "imageName"))
        else:
            continue
        if name is not None:
            return name
    if is_unknown(image):
        return "(unknown)"
    return None


def allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """True when ``name`` matches one of the allow-list's fnmatch patterns (case-sensitive)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def container_violations(resource: PolicyResource, settings: config.Settings) -> list[str]:
    """Privileged without an allow-listed image, other privileges without an allow-listed name,
    or any privilege on a container that publishes ports."""
    props = resource.props
    privileged = is_privileged(props)
    privileges = (["privileged"] if privileged else []) + container_privileges(props)
    if not privileges:
        return []
    name = as_str(lookup(props, "name")) or resource.name
    held = ", ".join(privileges)
    if publishes_ports(props):
        return [
            f"container {name} publishes ports and holds {held}; an internet-facing container never "
            "gets host-level privileges (move the privileged work to a container that publishes nothing)."
        ]
    messages = []
    if privileged:
        image = image_reference(resource)
        if image != "(unknown)" and (image is None or not allowed(image, settings.privileged_images)):
            patterns = ", ".join(settings.privileged_images) or "none"
            shown = image if image is not None else "an image no resource names"
            messages.append(
                f"container {name} runs privileged from {shown}, which matches no privilegedImages "
                f"pattern ({patterns}); only allow-listed images may run privileged."
            )
    narrower = [p for p in privileges if p != "privileged"]
    if narrower and not allowed(name, settings.privileged_containers):
        patterns = ", ".join(settings.privileged_containers) or "none"
        messages.append(
            f"container {name} holds {', '.join(narrower)} but its name matches no privilegedContainers "
            f"pattern ({patterns}); drop the privilege or add the container to the allow-list."
        )
    return messages


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    settings = config.settings(args)
    for resource in args.resources:
        if resource.resource_type != DOCKER_CONTAINER:
            continue
        for message in container_violations(resource, settings):
            report_violation(message, resource.urn)


PRIVILEGED_CONTAINERS_ALLOWLIST: Final = StackValidationPolicy(
    name="privileged-containers-allowlist",
    description=(
        "Only images on privilegedImages run privileged; added capabilities, devices and unconfined "
        "apparmor/seccomp only for containers on privilegedContainers; never on a container that publishes ports."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.PRIVILEGED_IMAGES, config.PRIVILEGED_CONTAINERS),
)

POLICIES: Final = (PRIVILEGED_CONTAINERS_ALLOWLIST,)
