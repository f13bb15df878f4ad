"""Run the pack's own policy objects over plain resource dictionaries.

:func:`evaluate` is how tests and the offline plan ask "what would CrossGuard say?" without the
Pulumi CLI. It builds the SDK's real argument objects (``ResourceValidationArgs``,
``StackValidationArgs``, ``PolicyResource``) from the dictionaries, wraps the props in the SDK's
unknown-checking proxy exactly as the analyzer does, and calls each registered policy's
``validate``. Like the analyzer, a policy that trips over an unknown value yields no violation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from .config import schema_defaults
from .pack import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL

STACK: Final = "offline"
PROJECT: Final = "rancher-stacks"
STACK_RESOURCE: Final = "(stack)"
"""Resource name used for a stack violation that names no resource."""

Violation = dict[str, str]


class OfflineResourceOptions(PolicyResourceOptions):
    """The SDK's resource options plus ``retain_on_delete``, which the SDK type does not carry."""

    retain_on_delete: bool

    def __init__(self, protect: bool, parent: str | None, retain_on_delete: bool) -> None:
        super().__init__(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)
        self.retain_on_delete = retain_on_delete


@dataclass(frozen=True)
class _Entry:
    """One input dictionary, normalised."""

    resource_type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    parent: str | None
    provider: str | None
    dependencies: tuple[str, ...]
    protect: bool
    retain_on_delete: bool


def _plain(value: Any) -> Any:
    """Deep copy into plain dicts and lists, the only containers the SDK proxy understands."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _qualified_type(urn: str) -> str | None:
    """The ``parent$child`` type chain of a URN."""
    parts = urn.split("::")
    return parts[2] if len(parts) >= 4 and parts[0].startswith("urn:pulumi:") else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _entry(raw: Mapping[str, Any]) -> _Entry | None:
    """Normalise one resource dictionary; ``None`` when it has no type."""
    resource_type = _text(raw.get("type"))
    if resource_type is None:
        return None
    name = _text(raw.get("name")) or ""
    parent = _text(raw.get("parent"))
    urn = _text(raw.get("urn"))
    if urn is None:
        chain = _qualified_type(parent) if parent else None
        qualified = f"{chain}${resource_type}" if chain else resource_type
        urn = f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"
    props = raw.get("props")
    dependencies = raw.get("dependencies")
    return _Entry(
        resource_type=resource_type,
        name=name,
        urn=urn,
        props=_plain(props) if isinstance(props, Mapping) else {},
        parent=parent,
        provider=_text(raw.get("provider")),
        dependencies=tuple(d for d in dependencies if isinstance(d, str))
        if isinstance(dependencies, (list, tuple))
        else (),
        protect=raw.get("protect") is True,
        retain_on_delete=raw.get("retainOnDelete") is True,
    )


ProviderLookup = Callable[[str | None], PolicyProviderResource | None]


def _provider_lookup(entries: Sequence[_Entry]) -> ProviderLookup:
    """Resolve a provider reference (``urn`` or ``urn::id``, as the mocks record it)."""
    providers = {e.urn: e for e in entries if e.resource_type.startswith("pulumi:providers:")}

    def resolve(reference: str | None) -> PolicyProviderResource | None:
        if reference is None:
            return None
        entry = providers.get(reference) or providers.get(reference.rsplit("::", 1)[0])
        if entry is None:
            return None
        props = unknown_checking_proxy(dict(entry.props))
        return PolicyProviderResource(entry.resource_type, props, entry.urn, entry.name)

    return resolve


def _options(entry: _Entry) -> OfflineResourceOptions:
    return OfflineResourceOptions(entry.protect, entry.parent, entry.retain_on_delete)


def _level(policy: Policy, overrides: Mapping[str, Any]) -> EnforcementLevel:
    """The policy's level after the pack default and any ``all``/per-policy override."""
    level = policy.enforcement_level or PACK_ENFORCEMENT_LEVEL
    per_policy = overrides.get(policy.name)
    if isinstance(per_policy, Mapping):
        per_policy = per_policy.get("enforcementLevel")
    for candidate in (overrides.get("all"), per_policy):
        if isinstance(candidate, str) and candidate in {e.value for e in EnforcementLevel}:
            level = EnforcementLevel(candidate)
    return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level


def policy_config(policy: Policy, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What ``args.get_config()`` returns for ``policy``: schema defaults, then overrides.

    ``overrides`` may give a property flat (``{"allowedPublicPorts": [...]}``, applied to every
    policy whose schema declares it) or under the policy's name, as in a
    ``--policy-pack-config`` file (``{"public-ports-allowlist": {"allowedPublicPorts": [...]}}``).
    """
    merged = schema_defaults(policy.config_schema)
    declared = policy.config_schema.properties if policy.config_schema is not None else {}
    merged.update({key: overrides[key] for key in declared if key in overrides})
    per_policy = overrides.get(policy.name)
    if isinstance(per_policy, Mapping):
        merged.update({k: v for k, v in per_policy.items() if k != "enforcementLevel"})
    return merged


def _settle(result: Awaitable[Any] | None) -> None:
    """Drive an awaitable validation result to completion on a private event loop."""
    if result is None or not isawaitable(result):
        return

    async def wait() -> None:
        await result

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(wait())
    finally:
        loop.close()


def _guarded(validate: Callable[[Any, ReportViolation], Any], args: Any, report: ReportViolation) -> None:
    """Run one validation; an unknown value means "cannot decide", as in the analyzer."""
    try:
        _settle(validate(args, report))
    except UnknownValueError:
        return


def _collector(
    found: list[Violation], policy: Policy, level: EnforcementLevel, resolve: Callable[[str | None], str]
) -> ReportViolation:
    """A ``report_violation`` callback appending to ``found``; ``resolve`` names the resource."""

    def report(message: str, urn: str | None = None) -> None:
        found.append(
            {"policy": policy.name, "resource": resolve(urn), "message": message, "enforcement": level.value}
        )

    return report


def _constant(name: str) -> Callable[[str | None], str]:
    """A resolver ignoring the URN: resource policies always report their own resource."""
    return lambda _urn: name


def _stack_resources(
    entries: Sequence[_Entry], provider: ProviderLookup, props: Sequence[Any]
) -> list[PolicyResource]:
    """``PolicyResource`` objects with parents and dependencies linked, as the analyzer does."""
    built = {
        entry.urn: PolicyResource(
            entry.resource_type,
            entry_props,
            entry.urn,
            entry.name,
            _options(entry),
            provider(entry.provider),
            None,
            [],
            {},
        )
        for entry, entry_props in zip(entries, props, strict=True)
    }
    for entry in entries:
        resource = built[entry.urn]
        resource.parent = built.get(entry.parent) if entry.parent else None
        resource.dependencies = [built[urn] for urn in entry.dependencies if urn in built]
    return list(built.values())


def evaluate(
    resources: Iterable[Mapping[str, Any]], config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Run every registered policy over ``resources`` and return the violations, sorted.

    Each resource is a dict with ``type``, ``name`` and ``props`` (engine camelCase names) and,
    optionally, ``urn``, ``parent`` (URN), ``provider``, ``dependencies``, ``protect``,
    ``retainOnDelete`` and ``custom`` (accepted, not needed: every policy filters on type).
    ``config`` overrides the schema defaults (see :func:`policy_config`) and may set enforcement
    levels the way a policy-pack config file does.
    Each violation is ``{"policy", "resource", "message", "enforcement"}``; stack violations that
    name a URN report that resource's name.
    """
    overrides: Mapping[str, Any] = config if isinstance(config, Mapping) else {}
    entries = [e for e in (_entry(r) for r in resources if isinstance(r, Mapping)) if e is not None]
    provider = _provider_lookup(entries)
    names = {entry.urn: entry.name for entry in entries}
    # Wrapped once and shared: policies only read props, and wrapping is most of the cost.
    props = [unknown_checking_proxy(dict(entry.props)) for entry in entries]
    stack_resources: list[PolicyResource] | None = None
    found: list[Violation] = []

    def stack_name(urn: str | None) -> str:
        return (names.get(urn) or urn or STACK_RESOURCE) if urn else STACK_RESOURCE

    for policy in ALL_POLICIES:
        level = _level(policy, overrides)
        if level == EnforcementLevel.DISABLED:
            continue
        policy_settings = policy_config(policy, overrides)
        if isinstance(policy, ResourceValidationPolicy):
            for entry, entry_props in zip(entries, props, strict=True):
                args = ResourceValidationArgs(
                    entry.resource_type,
                    entry_props,
                    entry.urn,
                    entry.name,
                    _options(entry),
                    provider(entry.provider),
                    policy_settings,
                )
                own_name = _constant(entry.name)
                _guarded(policy.validate, args, _collector(found, policy, level, own_name))
        elif isinstance(policy, StackValidationPolicy):
            if stack_resources is None:
                stack_resources = _stack_resources(entries, provider, props)
            stack_args = StackValidationArgs(stack_resources, policy_settings)
            _guarded(policy.validate, stack_args, _collector(found, policy, level, stack_name))

    return sorted(found, key=lambda v: (v["resource"], v["policy"], v["message"], v["enforcement"]))
