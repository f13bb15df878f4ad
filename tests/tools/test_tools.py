"""The offline tools on a tiny fixture project: stack files, canonical plan, diff, graph."""

import json
from pathlib import Path

import pytest

from tools.diff import diff_plans, render_markdown
from tools.errors import GraphError
from tools.graph import build_graph, creation_order, to_dot, to_mermaid, write_graph
from tools.plan import plan_stack
from tools.planfile import dumps
from tools.report import render_counts, render_tree
from tools.stackfile import StackFileError, load_stack_file

MINI = Path(__file__).parent / "fixtures" / "miniproject"


@pytest.fixture(scope="module")
def plans():
    return plan_stack(MINI / "Pulumi.a.yaml", MINI), plan_stack(MINI / "head" / "Pulumi.a.yaml", MINI)


def test_stack_file_fills_project_defaults_and_hides_secure_values(tmp_path):
    sf = load_stack_file(MINI / "head" / "Pulumi.a.yaml", MINI)
    assert sf.stack == "a" and sf.project == "mini"
    assert sf.config["mini:count"] == "3"
    assert sf.config["mini:token"] != "v1:AAAABBBBCCCC" and sf.secret_keys == ["mini:token"]
    only_size = tmp_path / "Pulumi.c.yaml"
    only_size.write_text("config:\n  mini:size: t3.nano\n")
    assert load_stack_file(only_size, MINI).config["mini:count"] == "2", "default from Pulumi.yaml"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("Pulumi.x.yaml", "config: [1, 2", "not valid YAML"),
        ("Pulumi.x.yaml", "- a\n- b\n", "expected a mapping"),
        ("Pulumi.x.yaml", "config:\n  size: 3\n", "must be namespaced"),
        ("stack.yaml", "config: {}\n", "Pulumi.<stack>.yaml"),
    ],
)
def test_bad_stack_files_say_what_is_wrong(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(StackFileError, match=message):
        load_stack_file(path, MINI)


def test_canonical_plan_is_sorted_complete_and_byte_stable(plans):
    a, _ = plans
    urns = [r["urn"] for r in a["resources"]]
    assert urns == sorted(urns)
    required = {
        "urn", "type", "name", "parent", "provider", "dependencies",
        "custom", "protect", "retainOnDelete", "deleteBeforeReplace", "inputs",
    }
    for r in a["resources"]:
        # ignoreChanges and propertyDependencies appear only where set.
        assert required <= set(r) <= required | {"ignoreChanges", "propertyDependencies"}, r["urn"]
    assert any("propertyDependencies" in r for r in a["resources"])
    again = plan_stack(MINI / "Pulumi.a.yaml", MINI)
    assert dumps(a) == dumps(again)
    assert json.loads(dumps(a)) == a


def test_tree_nests_children_under_their_component(plans):
    a, _ = plans
    tree = render_tree(a).splitlines()
    assert tree[0] == "pulumi:pulumi:Stack  mini-a"
    assert tree[1] == "└─ mini:index:Web  web"
    assert "   ├─ aws:ec2/instance:Instance  web-0  [protect]" in tree
    counts = render_counts(a)
    assert "5 resources to create" in counts
    assert "     2  aws:ec2/instance:Instance" in counts.splitlines()
    assert "     1  random" in counts.splitlines()


def test_diff_reports_added_and_property_changes(plans):
    a, b = plans
    d = diff_plans(a, b)
    assert [r["name"] for r in d.added] == ["web-2"]
    assert d.removed == []
    changed = {r["name"]: changes for r, changes in d.changed}
    assert ("instanceType", "t3.small", "t3.large") in changed["web-0"]
    assert ("count", 2, 3) in changed["web"]
    md = render_markdown(d, "Plan diff: a")
    assert "**1 to add, 0 to remove, 3 to change (0 by replacement)**" in md
    assert "| `instanceType` | `t3.small` | `t3.large` |" in md
    assert "No changes" in render_markdown(diff_plans(a, a))


def test_graph_has_parent_and_dependency_edges(plans, tmp_path):
    a, _ = plans
    g = build_graph(a)
    kinds = {(g.nodes[u]["name"], g.nodes[v]["name"]): k for u, v, k in g.edges(data="kind")}
    assert kinds[("web", "web-0")] == "parent"
    assert kinds[("web-sg", "web-0")] == "depends"
    waves = creation_order(a)
    names = [[g.nodes[u]["name"] for u in wave] for wave in waves]
    sg_wave = next(i for i, w in enumerate(names) if "web-sg" in w)
    inst_wave = next(i for i, w in enumerate(names) if "web-0" in w)
    assert sg_wave < inst_wave
    assert to_mermaid(a).startswith("flowchart LR") and "-.->" in to_mermaid(a)
    assert to_dot(a).count("->") == g.number_of_edges()
    with pytest.raises(GraphError, match="unknown format"):
        write_graph(a, tmp_path / "g.png")


def test_svg_graph_through_graphviz(plans, tmp_path, validator):
    validator("dot", "graphviz")  # write_graph finds it on PATH the same way
    a, _ = plans
    out = tmp_path / "g.svg"
    write_graph(a, out)
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
