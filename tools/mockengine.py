"""One reusable harness that runs a Pulumi program under the SDK's mock engine and records it.

``run_program`` sets the mocks, runs the program, waits until every outstanding RPC of the
program has drained (``run_pulumi_func`` does exactly that), and only then hands back what was
registered. Parents, providers, dependencies, ``protect``, ``retainOnDelete`` and
``deleteBeforeReplace`` come from the
register requests themselves (a recording ``MockMonitor``), never from guesses.

Secret inputs arrive from the SDK wrapped in its secret signature; they are replaced by
``SECRET`` in everything this module returns, so no secret reaches a plan file or a snapshot.
"""

from __future__ import annotations

import contextvars
import os
import runpy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from rancher_stacks.hosts.ssh_files import HOME_ENV as SSH_HOME_ENV
from tools.mock_outputs import invoke_result, resource_outputs

SECRET = "[secret]"


@dataclass
class Registration:
    """One registered resource, as the engine would have seen it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    inputs: dict[str, Any]
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    # Input paths the engine leaves alone after creation (``ignore_changes``, camelCase paths).
    ignore_changes: list[str] = field(default_factory=list)
    # Input name -> the resources whose outputs flow into that input (sorted URNs).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str:
        """The provider reference without its ``::<id>`` suffix."""
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass
class ProgramRun:
    """What a program registered, in registration order, plus its stack outputs."""

    project: str
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    # Every invoke the program made, as (token, args), in call order.
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str) -> Registration:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.resources if r.parent == urn]


def scrub(value: Any) -> Any:
    """Replace every SDK-wrapped secret inside ``value`` by ``SECRET``."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Normalise mock values: integral floats (how numbers travel) back to ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _paths_holding(value: Any, needles: set[str], path: str) -> list[str]:
    """The dotted paths under ``path`` whose leaf value is one of ``needles`` (or contains one)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths_holding(v, needles, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths_holding(v, needles, f"{path}[{i}]")]
    if isinstance(value, str) and any(n in value for n in needles):
        return [path]
    return []


class PlanMocks(pulumi.runtime.Mocks):
    """Realistic outputs per resource type and invoke token (see ``tools.mock_outputs``)."""

    def __init__(self) -> None:
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        plain = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        return resource_outputs(args.typ, args.name, plain)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list[tuple[str, str]]]]:
        self.invokes.append((args.token, _plain(dict(args.args))))
        return invoke_result(args.token, dict(args.args)), []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps what each register request said about the resource."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # urn -> the string values a resource's outputs add to its inputs (ids, names, links)
        self.computed: dict[str, set[str]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Register like ``MockMonitor`` does, but record the request and keep secrets secret.

        The real engine marks a provider's ``additionalSecretOutputs`` (a random password's
        ``result``, say) secret; the stock mock monitor does not, so this one does.
        """
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(args)
        secret_outputs = set(request.additionalSecretOutputs)
        state = {
            k: rpc.wrap_rpc_secret(v) if k in secret_outputs or rpc.is_rpc_secret(inputs.get(k)) else v
            for k, v in state.items()
        }
        self.computed[urn] = {id_ or ""} | {
            v for k, v in state.items() if isinstance(v, str) and inputs.get(k) != v
        } - {""}
        obj = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        plain_inputs = _plain(scrub(dict(inputs)))
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                provider=request.provider,
                dependencies=sorted(set(request.dependencies)),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                inputs=plain_inputs,
                id=id_ or "",
                ignore_changes=sorted(request.ignoreChanges),
                property_dependencies=self._property_dependencies(request, plain_inputs),
            )
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj)

    def _property_dependencies(self, request: Any, inputs: dict[str, Any]) -> dict[str, list[str]]:
        """Input path -> the resources whose outputs flow into it.

        The engine says which top-level input takes outputs of which resources. Under a nested
        input (a boot disk's ``initializeParams.image``) the path is narrowed to the leaves whose
        value is one of those resources' computed outputs, so that the plan diff can tell an
        output reaching a field that forces a replacement from one reaching a field that does
        not (or that ``ignoreChanges`` covers); where no leaf matches, the input itself is kept.
        """
        found: dict[str, set[str]] = {}
        for key, deps in request.propertyDependencies.items():
            for dep in set(deps.urns):
                paths = _paths_holding(inputs.get(key), self.computed.get(dep, set()), key) or [key]
                for path in paths:
                    found.setdefault(path, set()).add(dep)
        return {path: sorted(urns) for path, urns in sorted(found.items())}

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Keep a component's registered outputs: what a live stack policy would see of it."""
        outputs = _plain(scrub(rpc.deserialize_properties(request.outputs)))
        for registration in self.registrations:
            if registration.urn == request.urn:
                registration.outputs = outputs
        return super().RegisterResourceOutputs(request)


def _forget_outstanding_work() -> None:
    """Drop output tasks a previous (failed) run left in the SDK's process-wide settings.

    The SDK stops waiting at a program's first failed RPC; its other tasks stay in
    ``SETTINGS.outputs`` (shared by every context) and would fail the next run with the old
    error. ``pulumi.runtime.test`` clears the same state for the same reason.
    """
    for task in list(SETTINGS.outputs):
        if task.done() and not task.cancelled():
            task.exception()  # mark retrieved: no "exception was never retrieved" noise
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()


def _run(program: Callable[[], None], project: str, stack: str, config: dict[str, str],
         secret_keys: list[str]) -> ProgramRun:
    _forget_outstanding_work()
    mocks = PlanMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    set_all_config(dict(config), list(secret_keys))
    outputs: dict[str, Any] = {}

    async def collect_outputs() -> None:
        root = get_root_resource()
        exported = getattr(root, "outputs", {}) or {}
        struct = await rpc.serialize_properties(exported, {})
        outputs.update(_plain(scrub(rpc.deserialize_properties(struct))))

    def body() -> None:
        program()

    try:
        _sync_await(run_pulumi_func(body))
        _sync_await(run_pulumi_func(collect_outputs))
    finally:
        _forget_outstanding_work()
    return ProgramRun(project, stack, monitor.registrations, outputs, mocks.invokes)


def run_program(
    program: Callable[[], None],
    *,
    project: str = "rancher-stacks",
    stack: str = "test",
    config: Optional[dict[str, str]] = None,
    secret_keys: Optional[list[str]] = None,
) -> ProgramRun:
    """Run ``program`` under the mock engine and return everything it registered.

    Each run happens in a fresh ``contextvars`` context, so the SDK's per-run state (root
    stack, config, RPC manager) never leaks from one run to the next. An exception raised by
    the program is re-raised after the outstanding RPCs drained.
    """
    ctx = contextvars.Context()
    if os.environ.get(SSH_HOME_ENV):
        return ctx.run(_run, program, project, stack, config or {}, secret_keys or [])
    # The program writes the docker provider's SSH files; an offline plan keeps them out of ~.
    with tempfile.TemporaryDirectory(prefix="rancher-stacks-ssh-") as home:
        os.environ[SSH_HOME_ENV] = home
        try:
            return ctx.run(_run, program, project, stack, config or {}, secret_keys or [])
        finally:
            del os.environ[SSH_HOME_ENV]


def run_main(main: Path, **kwargs: Any) -> ProgramRun:
    """Run a ``__main__.py`` (as ``pulumi up`` would) under the mock engine."""
    main = Path(main).resolve()

    def program() -> None:
        cwd = os.getcwd()
        os.chdir(main.parent)
        try:
            runpy.run_path(str(main), run_name="__main__")
        finally:
            os.chdir(cwd)

    return run_program(program, **kwargs)
