"""ci-home-retained, ci-login-required and the CI front's single-backend exception, both ways,
on the shipped dev and prod plans and on edited copies of them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import run

from tools.plan import plan_stack
from tools.planfile import policy_resources

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = "rancher-stacks:index:JenkinsController"


@pytest.fixture(scope="module")
def dev() -> list[dict[str, Any]]:
    return policy_resources(plan_stack(ROOT / "Pulumi.dev.yaml"))


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return policy_resources(plan_stack(ROOT / "Pulumi.prod.yaml"))


def found(resources: list[dict[str, Any]], policy: str, config: dict[str, Any] | None = None) -> list[dict[str, str]]:
    return [v for v in run(resources, config) if v["policy"] == policy]


def by(resources: list[dict[str, Any]], name: str, kind: str | None = None) -> dict[str, Any]:
    (entry,) = [r for r in resources if r["name"] == name and (kind is None or r["type"] == kind)]
    return entry


def test_the_shipped_plans_pass(dev, prod):
    for plan in (dev, prod):
        for policy in ("ci-home-retained", "ci-login-required", "load-balancer-redundancy"):
            assert found(plan, policy) == [], policy


def test_a_home_volume_that_is_not_retained_fails(dev):
    changed = copy.deepcopy(dev)
    by(changed, "ci-0-data-volume")["retainOnDelete"] = False
    (violation,) = found(changed, "ci-home-retained")
    assert violation["resource"] == "ci" and "not retained" in violation["message"]


def test_prod_requires_the_home_volume_protected(prod):
    changed = copy.deepcopy(prod)
    by(changed, "ci-0-data-volume")["protect"] = False
    (violation,) = found(changed, "ci-home-retained")
    assert "not protected" in violation["message"]
    # dev does not protect stateful resources, so the same state passes there.


def test_a_home_on_the_root_disk_fails(dev):
    changed = copy.deepcopy(dev)
    by(changed, "ci", CONTROLLER)["props"]["homeOnDataVolume"] = False
    (violation,) = found(changed, "ci-home-retained")
    assert "not on a data volume" in violation["message"]


def test_a_missing_home_volume_fails(dev):
    changed = [r for r in copy.deepcopy(dev) if r["name"] != "ci-0-data"]
    (violation,) = found(changed, "ci-home-retained")
    assert "no DataVolume ci-0-data" in violation["message"]


@pytest.mark.parametrize(
    ("prop", "value", "words"),
    [
        ("anonymousAccess", True, "anonymous access"),
        ("securityRealm", "none", "no security realm"),
        ("signup", True, "self-signup"),
        ("csrfProtection", False, "no CSRF protection"),
        ("controllerExecutors", 2, "executors on the controller"),
        ("authorization", "unsecured", "no authorization strategy"),
    ],
)
def test_a_controller_without_its_login_fails(dev, prop, value, words):
    changed = copy.deepcopy(dev)
    by(changed, "ci", CONTROLLER)["props"][prop] = value
    (violation,) = found(changed, "ci-login-required")
    assert violation["enforcement"] == "mandatory" and words in violation["message"]


def test_only_the_listed_balancer_may_have_one_backend(dev):
    assert found(dev, "load-balancer-redundancy", {"singleBackendBalancers": []})[0]["resource"] == "ci-front"
    changed = copy.deepcopy(dev)
    by(changed, "lb", "rancher-stacks:index:LoadBalancer")["props"]["backends"] = ["webapp-0"]
    (violation,) = found(changed, "load-balancer-redundancy")
    assert violation["resource"] == "lb"
    # The exception covers the backend count only, never the health check.
    by(changed, "ci-front", "rancher-stacks:index:LoadBalancer")["props"]["healthCheckPath"] = " "
    assert {v["resource"] for v in found(changed, "load-balancer-redundancy")} == {"lb", "ci-front"}
