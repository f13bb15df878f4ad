"""Container privileges: only named, non-public containers may hold host-level privileges.

A ``docker:index/container:Container`` holds a host-level privilege when it is ``privileged``,
adds a capability outside Docker's default set (``SYS_ADMIN``, ``NET_ADMIN``, ``ALL``, ...), maps
a host device, or turns off AppArmor or seccomp (``apparmor=unconfined``/``seccomp=unconfined`` in
``securityOpts``, either spelling ``=`` or ``:``). Such a container must be named by one of the
``privilegedContainers`` patterns (fnmatch, matched against the container's ``name``); the
defaults name exactly the Gluster server containers (``storage-storage-<n>``, privileged: glusterd
under systemd) and the game's volume containers (``game-game-<n>-volume``, FUSE), as the shipped
systems name them.

A container that publishes ports never may, allow-listed or not: a process that faces the
internet gets no host-level privilege.

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
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from . import config
from .props import as_bool, as_str, has_entries, is_unknown, items_of, known_strings, lookup

DOCKER_CONTAINER: Final = "docker:index/container:Container"

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


def container_privileges(props: Any) -> list[str]:
    """The host-level privileges a container's inputs grant, each as a short phrase."""
    found = []
    if as_bool(lookup(props, "privileged")) is True:
        found.append("privileged")
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


def allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """True when ``name`` matches one of the allow-list's fnmatch patterns (case-sensitive)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def container_privilege_violations(props: Any, resource_name: str, settings: config.Settings) -> list[str]:
    """A privileged container that faces the internet, or whose name is not allow-listed."""
    privileges = container_privileges(props)
    if not privileges:
        return []
    name = as_str(lookup(props, "name")) or resource_name
    held = ", ".join(privileges)
    if publishes_ports(props):
        return [
            f"container {name} publishes ports and holds {held}; an internet-facing container never "
            "gets host-level privileges (move the privileged work to a container that publishes nothing)."
        ]
    if allowed(name, settings.privileged_containers):
        return []
    patterns = ", ".join(settings.privileged_containers) or "none"
    return [
        f"container {name} holds {held} but its name matches no privilegedContainers pattern "
        f"({patterns}); drop the privilege or add the container to the allow-list."
    ]


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != DOCKER_CONTAINER:
        return
    for message in container_privilege_violations(args.props, args.name, config.settings(args)):
        report_violation(message, None)


CONTAINER_PRIVILEGES: Final = ResourceValidationPolicy(
    name="container-privileges",
    description=(
        "Containers that are privileged, add capabilities beyond Docker's default set, map devices or "
        "run apparmor/seccomp unconfined must be named in privilegedContainers and publish no port."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.PRIVILEGED_CONTAINERS),
)

POLICIES: Final = (CONTAINER_PRIVILEGES,)
