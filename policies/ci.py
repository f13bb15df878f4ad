"""The CI system's rules: its home survives, and nobody gets in without Jenkins' login.

Stack policies over the ``rancher-stacks:index:JenkinsController`` component, whose props the
component derives from the very JCasC document it installs (``security_summary``):
``host``, ``cloud``, ``homeOnDataVolume``, ``protectHome``, ``securityRealm``, ``authorization``,
``anonymousAccess``, ``signup``, ``csrfProtection``, ``controllerExecutors``.

* ``ci-home-retained``: on a VM cloud, ``JENKINS_HOME`` is on the controller host's data volume
  (``homeOnDataVolume``), and that ``DataVolume`` (named ``<host>-data``) is retained on delete
  (its ``retainOnDelete`` prop, and the retain-on-delete option of the disk beneath it where the
  engine reports it) and, when the stack protects stateful resources (``protectHome``, prod),
  protected. The local daemon has no volumes and is not judged.
* ``ci-login-required``: the controller has a security realm, no anonymous access and no
  self-signup, CSRF protection, and 0 executors of its own. The front may be opened to the
  whole internet (``worldOpen``) precisely because of this; the rule holds whatever the exposure,
  since a controller that admits anonymous users is one firewall edit away from being public.
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import as_bool, as_int, as_str, lookup

JENKINS_CONTROLLER: Final = "rancher-stacks:index:JenkinsController"
DATA_VOLUME: Final = "rancher-stacks:index:DataVolume"
VOLUME_TYPES: Final = frozenset({"aws:ebs/volume:Volume", "gcp:compute/disk:Disk", "digitalocean:index/volume:Volume"})


def _protected(resource: PolicyResource) -> bool:
    return bool(resource.opts.protect)


def _retained(resource: PolicyResource) -> bool:
    return bool(getattr(resource.opts, "retain_on_delete", False)) or bool(resource.opts.protect)


def home_violations(controller: PolicyResource, resources: list[PolicyResource]) -> list[str]:
    """What keeps ``controller``'s home from surviving the controller host."""
    props = controller.props
    if as_str(lookup(props, "cloud")) == "local":
        return []
    host = as_str(lookup(props, "host"))
    if as_bool(lookup(props, "homeOnDataVolume")) is not True:
        return [f"Jenkins home of {controller.name} is not on a data volume of host {host}; it dies with the host."]
    volumes = [r for r in resources if r.resource_type == DATA_VOLUME and r.name == f"{host}-data"]
    if not volumes:
        return [f"no DataVolume {host}-data holds the Jenkins home of {controller.name}."]
    (volume,) = volumes
    messages = []
    disks = [
        r for r in resources if r.resource_type in VOLUME_TYPES and r.parent is not None and r.parent.urn == volume.urn
    ]
    if as_bool(lookup(volume.props, "retainOnDelete")) is not True or not all(_retained(d) for d in disks):
        messages.append(
            f"the Jenkins home volume {volume.name} is not retained on delete; `pulumi destroy` would delete it."
        )
    if as_bool(lookup(props, "protectHome")) is True and not (
        as_bool(lookup(volume.props, "protect")) is True and all(_protected(d) for d in disks)
    ):
        messages.append(f"the Jenkins home volume {volume.name} is not protected although protectStateful is on.")
    return messages


def login_violations(controller: PolicyResource) -> list[str]:
    """What lets someone use ``controller`` without logging in, or run builds on it."""
    props = controller.props
    problems = []
    realm = as_str(lookup(props, "securityRealm"))
    if realm in (None, "", "none", "None"):
        problems.append("no security realm")
    if as_str(lookup(props, "authorization")) in (None, "", "unsecured"):
        problems.append("no authorization strategy")
    if as_bool(lookup(props, "anonymousAccess")) is not False:
        problems.append("anonymous access")
    if as_bool(lookup(props, "signup")) is not False:
        problems.append("self-signup")
    if as_bool(lookup(props, "csrfProtection")) is not True:
        problems.append("no CSRF protection")
    if as_int(lookup(props, "controllerExecutors")) != 0:
        problems.append("executors on the controller")
    if not problems:
        return []
    return [
        f"Jenkins controller {controller.name} has {', '.join(problems)}; its front may face the internet "
        "(worldOpen), so Jenkins' own login must hold: local realm without signup, no anonymous permission, "
        "CSRF crumbs, 0 controller executors."
    ]


def _validate_home(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = list(args.resources)
    for resource in resources:
        if resource.resource_type == JENKINS_CONTROLLER:
            for message in home_violations(resource, resources):
                report_violation(message, resource.urn)


def _validate_login(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type == JENKINS_CONTROLLER:
            for message in login_violations(resource):
                report_violation(message, resource.urn)


CI_HOME_RETAINED: Final = StackValidationPolicy(
    name="ci-home-retained",
    description="The Jenkins home is on a data volume that is retained on delete and, with protectStateful, protected.",
    validate=_validate_home,
    enforcement_level=EnforcementLevel.MANDATORY,
)

CI_LOGIN_REQUIRED: Final = StackValidationPolicy(
    name="ci-login-required",
    description="Jenkins controllers require a login: a realm, no anonymous access or signup, CSRF, 0 executors.",
    validate=_validate_login,
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES: Final = (CI_HOME_RETAINED, CI_LOGIN_REQUIRED)
