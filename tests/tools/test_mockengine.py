"""The mock-engine harness records what the engine would see, after all RPCs drained."""

from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from tools.mock_outputs import public_ip
from tools.mockengine import SECRET, run_main, run_program

MINI = Path(__file__).parent / "fixtures" / "miniproject"


def _mini(count: int = 2, **extra: str):
    config = {"mini:count": str(count), "mini:size": "t3.small", **extra}
    return run_main(MINI / "__main__.py", project="mini", stack="a", config=config)


def test_records_every_resource_with_parent_and_dependencies():
    run = _mini()
    web = run.by_name("web")
    assert web.type == "mini:index:Web" and not web.custom
    assert web.inputs == {"count": 2}, "component props are what policies see"
    instances = run.by_type("aws:ec2/instance:Instance")
    assert sorted(i.name for i in instances) == ["web-0", "web-1"]
    sg = run.by_name("web-sg")
    pw = run.by_name("web-pw")
    for inst in instances:
        assert inst.parent == web.urn
        assert inst.dependencies == sorted([sg.urn, pw.urn])
    assert run.by_name("web-0").protect and not run.by_name("web-1").protect


def test_secrets_never_leave_the_harness_in_plain_text():
    run = _mini(**{"mini:token": "hunter2-token"})
    inst = run.by_name("web-0")
    assert inst.inputs["userData"] == SECRET
    assert run.outputs["password"] == SECRET
    assert run.outputs["token"] == SECRET


def test_outputs_use_mocked_computed_values():
    run = _mini(count=3)
    assert run.outputs["ips"] == [public_ip(f"web-{i}") for i in range(3)]
    assert len(set(run.outputs["ips"])) == 3


def test_program_errors_propagate_after_draining_and_do_not_leak_into_the_next_run():
    with pytest.raises(ValueError, match="count too large"):
        _mini(count=9)
    assert len(_mini(count=2).by_type("aws:ec2/instance:Instance")) == 2


def test_invokes_are_recorded_and_answered():
    def program() -> None:
        ami = aws.ec2.get_ami_output(owners=["605812595337"], most_recent=True)
        pulumi.export("ami", ami.id)

    run = run_program(program)
    assert run.invokes == [("aws:ec2/getAmi:getAmi", {"owners": ["605812595337"], "mostRecent": True})]
    assert run.outputs["ami"].startswith("ami-")


def test_runs_are_isolated_from_each_other():
    first = run_program(lambda: aws.ec2.SecurityGroup("one", description="x"))
    second = run_program(lambda: pulumi.export("x", 1))
    assert [r.name for r in first.resources] == ["one"]
    assert second.resources == [] and second.outputs == {"x": 1}
