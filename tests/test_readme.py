"""The README's component example is a program that runs: executed under the mock engine."""

from __future__ import annotations

import re
from pathlib import Path

from tools.mockengine import run_program

README = Path(__file__).resolve().parent.parent / "README.md"


def example() -> str:
    section = README.read_text().split("## Using the components in another Pulumi project", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the section has a python example"
    return blocks[0]


def test_the_component_example_builds_a_volume_on_three_servers_that_admit_the_builders() -> None:
    code = example()
    result = run_program(lambda: exec(compile(code, str(README), "exec"), {"__name__": "__main__"}))
    containers = [r for r in result.by_type("docker:index/container:Container") if r.name.startswith("files-")]
    assert len(containers) == 3
    assert {r.name for r in result.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")} >= {
        "files-fw-gluster-builders-tcp24007-sg",
        "files-fw-gluster-builders-tcp24007-host1",
    }
    assert set(result.outputs) == {"fileServers"}
