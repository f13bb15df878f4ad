"""The systems registry: deploy order from ``after``, shared objects, and peers that are not groups."""

from __future__ import annotations

import pulumi
import pytest

from rancher_stacks.config import StackConfig
from rancher_stacks.net.peer import PeerGroup
from rancher_stacks.systems import registry
from rancher_stacks.systems.registry import Built, System, enabled_systems
from tools.mockengine import run_program

CFG = StackConfig()


def system(name: str, after: tuple[str, ...] = (), on: bool = True) -> System:
    return System(name, name, lambda cfg: on, lambda cfg: [], lambda cfg, built: {}, after=after)


def test_a_system_deploys_after_the_enabled_systems_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [system("a-web", after=("z-cluster",)), system("m-off", on=False), system("z-cluster", after=("m-off",))]
    monkeypatch.setattr(registry, "all_systems", lambda: found)
    assert [s.name for s in enabled_systems(CFG)] == ["z-cluster", "a-web"]


def test_systems_that_wait_for_each_other_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "all_systems", lambda: [system("a", after=("b",)), system("b", after=("a",))])
    with pytest.raises(ValueError, match="a -> b -> a"):
        enabled_systems(CFG)


def _peers(*names: str) -> dict:
    peers = {}
    for name in names:
        ips, resolve = pulumi.deferred_output()
        peers[name] = (PeerGroup(name, "aws", ips, ips, count=1), resolve)
    return peers


def test_built_gives_a_declared_peer_its_addresses_once() -> None:
    def program() -> None:
        peers = _peers("egress")
        built = Built({}, peers)
        built.resolve_peer("egress", ["198.51.100.7"])
        with pytest.raises(ValueError, match="resolved already"):
            built.resolve_peer("egress", ["198.51.100.8"])
        pulumi.export("egress", peers["egress"][0].public_ips)

    assert run_program(program).outputs["egress"] == ["198.51.100.7"]


def test_a_peer_its_system_never_resolves_fails_the_program_instead_of_hanging() -> None:
    def program() -> None:
        peers = _peers("forgotten")
        pulumi.export("forgotten", peers["forgotten"][0].public_ips)
        Built({}, peers).fail_unresolved(RuntimeError("never given its addresses"))

    with pytest.raises(Exception, match="never given its addresses"):
        run_program(program)

