"""Ordinary day-2 edits of the dev stack, planned before and after, as a reviewer's diff sees them.

Each test edits a copy of ``Pulumi.dev.yaml`` (same stack name, so the URNs line up), plans it
through the real program and diffs it against the shipped plan with ``tools.diff``, which honours
``ignoreChanges`` and traces replacements through property dependencies. What must hold: no data
volume or disk is ever replaced by these edits, and a host that is replaced has its data volume
detached before the new attachment is made (``deleteBeforeReplace``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tools.diff import PlanDiff, diff_plans, render_markdown
from tools.mock_outputs import public_ip
from tools.plan import plan_stack
from tools.replacements import HOSTS, STATEFUL

ROOT = Path(__file__).resolve().parents[2]
P = "rancher-stacks:"
ATTACHMENTS = (
    "aws:ec2/volumeAttachment:VolumeAttachment",
    "gcp:compute/attachedDisk:AttachedDisk",
    "digitalocean:index/volumeAttachment:VolumeAttachment",
)
NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHUIxHzSDq2v8XEdhOx2M7SqcLJXkSMl7W3Xj9N3v2Ow rotated@rancher-stacks"


def _dev_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return plan_stack(ROOT / "Pulumi.dev.yaml")


def plan_with(tmp_path: Path, edit: Callable[[dict[str, Any]], None], stack: str = "dev") -> dict[str, Any]:
    doc = _dev_config()
    edit(doc["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return plan_stack(path)


def replaced_of(d: PlanDiff, types: frozenset[str] | tuple[str, ...]) -> list[str]:
    return sorted(r["name"] for r, _ in d.changed if r["urn"] in d.replaced and r["type"] in types)


def assert_no_data_lost(d: PlanDiff) -> None:
    assert replaced_of(d, STATEFUL) == []
    assert [r["name"] for r in d.removed if r["type"] in STATEFUL] == []
    assert not [r for r, _ in d.cascades if r["type"] in STATEFUL]


def test_every_attachment_detaches_before_its_replacement(base) -> None:
    attachments = [r for r in base["resources"] if r["type"] in ATTACHMENTS]
    assert attachments and all(r["deleteBeforeReplace"] for r in attachments)


def test_a_new_ssh_key_restarts_aws_updates_gcp_and_replaces_only_droplets(base, tmp_path) -> None:
    head = plan_with(tmp_path, lambda c: c.__setitem__(f"{P}sshPublicKey", NEW_KEY))
    d = diff_plans(base, head)
    assert_no_data_lost(d)
    # The key pair is replaced; the instances ignore its new name and take the key from user data.
    assert replaced_of(d, ("aws:ec2/keyPair:KeyPair",)) == ["aws-key"]
    changed = {r["name"]: r for r, _ in d.changed}
    assert d.kind(changed["storage-0-vm-instance"]) == "update"
    # Its new name flows into keyName (a new output the offline plan cannot know), which the
    # instance ignores: so no cascade. Without the ignore it would be one (last test).
    vm = changed["storage-0-vm-instance"]
    key_pair = next(r for r, _ in d.changed if r["type"] == "aws:ec2/keyPair:KeyPair")
    assert vm["propertyDependencies"]["keyName"] == [key_pair["urn"]]
    assert "keyName" in vm["ignoreChanges"]
    assert d.kind(changed["database-0-vm-instance"]) == "update"
    # DigitalOcean cannot change a droplet's user data: only the (volume-less) droplets go.
    replaced_hosts = replaced_of(d, HOSTS)
    assert replaced_hosts and all(name.endswith("-droplet") for name in replaced_hosts)
    assert not d.cascades


def test_a_new_os_image_replaces_the_images_but_no_running_host(base, tmp_path) -> None:
    def new_images(c: dict[str, Any]) -> None:
        clouds = c[f"{P}clouds"]
        clouds["aws"]["amiId"] = "ami-0123456789abcdef0"
        clouds["gcp"]["imageUrl"] = clouds["gcp"]["imageUrl"].replace("v2.0.5", "v2.0.5-r2")
        clouds["digitalocean"]["customImageUrl"] = clouds["digitalocean"]["customImageUrl"].replace("v2.0.5", "v2.0.5-r2")

    d = diff_plans(base, plan_with(tmp_path, new_images))
    assert_no_data_lost(d)
    assert replaced_of(d, HOSTS) == []
    assert not d.cascades
    # The GCP image (every field ForceNew, its description included) and the DO image are new.
    assert sorted(r["type"] for r, _ in d.changed if r["urn"] in d.replaced) == [
        "digitalocean:index/customImage:CustomImage",
        "gcp:compute/image:Image",
    ]
    ignored = sorted(p for paths in d.ignored.values() for p in paths)
    assert set(ignored) == {"ami"}  # the others follow from replaced images: traced, not diffed
    assert d.dangers == []


def test_reordering_zones_changes_nothing(base, tmp_path) -> None:
    def reorder(c: dict[str, Any]) -> None:
        for cloud in ("aws", "gcp"):
            c[f"{P}clouds"][cloud]["zones"].reverse()

    assert diff_plans(base, plan_with(tmp_path, reorder)).empty


def test_adding_a_zone_is_flagged_before_it_can_move_a_volume(base, tmp_path) -> None:
    def add(c: dict[str, Any]) -> None:
        c[f"{P}clouds"]["aws"]["zones"].append("us-east-1c")
        c[f"{P}workloads"]["storage"]["servers"] = 3

    d = diff_plans(base, plan_with(tmp_path, add))
    # A third server lands in the new zone; the first two keep theirs. The only group with more
    # hosts than the old zones, the 3 Elasticsearch masters, spreads over the new zone: its third
    # host moves with an empty volume, and the diff says so before anything happens (the
    # cluster re-replicates onto it; see the logging README's drill).
    assert replaced_of(d, HOSTS) == ["es-master-2-vm-instance"]
    assert replaced_of(d, STATEFUL) == ["es-master-2-data-volume"]
    assert any("es-master-2-data-volume" in danger and "comes back empty" in danger for danger in d.dangers)
    assert "storage-2-data-volume" in [r["name"] for r in d.added]
    added = {r["name"]: r for r in d.added}
    assert added["storage-2-vm-instance"]["inputs"]["availabilityZone"] == "us-east-1c"


def test_growing_a_data_volume_is_in_place(base, tmp_path) -> None:
    d = diff_plans(base, plan_with(tmp_path, lambda c: c[f"{P}workloads"]["storage"].__setitem__("dataVolumeGb", 20)))
    assert_no_data_lost(d)
    assert replaced_of(d, HOSTS) == []
    volumes = [r for r, _ in d.changed if r["type"] == "aws:ebs/volume:Volume"]
    assert len(volumes) == 2 and all(d.kind(r) == "update" for r in volumes)


def test_a_gcp_machine_type_change_keeps_members_and_their_addresses(base, tmp_path) -> None:
    head = plan_with(tmp_path, lambda c: c[f"{P}clouds"]["gcp"].__setitem__("machineType", "e2-medium"))
    d = diff_plans(base, head)
    assert d.dangers == []
    members = [r for r, _ in d.changed if r["type"] == "gcp:compute/instance:Instance"]
    assert len(members) == 3 and all(d.kind(r) == "update" for r in members)
    # The static addresses the replica set, the certificates and the firewalls name do not change.
    assert not [r for r, _ in d.changed if r["type"] == "gcp:compute/address:Address"]


def test_the_pr_markdown_of_a_dangerous_and_a_harmless_edit(base, tmp_path) -> None:
    dangerous = render_markdown(
        diff_plans(base, plan_with(tmp_path, lambda c: c.__setitem__(f"{P}sshPublicKey", NEW_KEY)))
    )
    harmless = render_markdown(
        diff_plans(base, plan_with(tmp_path, lambda c: c[f"{P}clouds"]["gcp"].__setitem__("machineType", "e2-medium")))
    )
    assert dangerous.splitlines()[2].startswith("> :warning: **Would replace a host: `digitalocean:index/droplet:Droplet`")
    assert ":warning:" not in harmless
    assert "`aws:ec2/instance:Instance` **storage-0-vm-instance**: update" in dangerous
    assert "`gcp:compute/instance:Instance` **database-0-vm-instance**: update" in harmless


def test_old_plans_without_property_dependencies_still_cascade(base) -> None:
    head = copy.deepcopy(base)
    old_base = copy.deepcopy(base)
    for plan in (old_base, head):
        for r in plan["resources"]:
            r.pop("propertyDependencies", None)
            r.pop("ignoreChanges", None)
    for r in head["resources"]:
        if r["type"] == "aws:ec2/keyPair:KeyPair":
            r["inputs"]["publicKey"] = NEW_KEY
    d = diff_plans(old_base, head)
    assert {r["name"] for r, _ in d.cascades} >= {"storage-0-vm-instance", "game-0-vm-instance"}


def test_growing_a_volume_re_runs_only_its_hosts_grow_step(base, tmp_path) -> None:
    d = diff_plans(base, plan_with(tmp_path, lambda c: c[f"{P}workloads"]["storage"].__setitem__("dataVolumeGb", 20)))
    rerun = sorted(r["name"] for r, _ in d.changed if r["type"] == "command:remote:Command" and r["urn"] in d.replaced)
    assert rerun == ["storage-0-data-check", "storage-1-data-check"]
    grow = next(r for r, _ in d.changed if r["name"] == "storage-0-data-check")
    assert "resize2fs" in grow["inputs"]["create"] and str(20 * 1024**3) in grow["inputs"]["create"]


def test_a_new_volume_re_runs_the_data_directories_and_both_bootstraps(base) -> None:
    """Their triggers take the volumes' identities (an EBS volume id; a persistent disk's
    server-defined diskId, as its id is its path, the same for a new disk of the same name), so a
    new, empty volume re-runs them: the property dependencies say which volume feeds which."""
    by_name = {r["name"]: r for r in base["resources"]}
    urn = {r["name"]: r["urn"] for r in base["resources"] if r["type"] in STATEFUL}
    assert sorted(urn) == ["ci-0-data-volume", "database-0-data-disk", "database-1-data-disk", "database-2-data-disk",
                           "es-master-0-data-volume", "es-master-1-data-volume", "es-master-2-data-volume",
                           "log-redis-0-data-volume", "storage-0-data-volume", "storage-1-data-volume"]

    def fed_by(resource: str) -> set[str]:
        deps = by_name[resource]["propertyDependencies"]
        return {u for path, urns in deps.items() if path.startswith("triggers") for u in urns}

    assert fed_by("storage-bootstrap") >= {urn["storage-0-data-volume"], urn["storage-1-data-volume"]}
    assert fed_by("database-rs-init") >= {urn[f"database-{i}-data-disk"] for i in range(3)}
    for i in range(2):
        assert fed_by(f"storage-storage-{i}-dirs") == {urn[f"storage-{i}-data-volume"]}
        assert fed_by(f"storage-{i}-data-check") == {urn[f"storage-{i}-data-volume"]}
    for i in range(3):
        assert fed_by(f"database-database-{i}-dirs") == {urn[f"database-{i}-data-disk"]}
    # The Jenkins home: its directories, and the JCasC install that owns the home for uid 1000.
    assert fed_by("ci-dirs") == {urn["ci-0-data-volume"]}
    # (and the front's address: the document names the public URL)
    assert urn["ci-0-data-volume"] in fed_by("ci-casc")
    disk_ids = [t for t in by_name["database-rs-init"]["inputs"]["triggers"] if str(t).isdigit()]
    assert len(disk_ids) == 3  # diskId, not the path-like id


DROPLET = "digitalocean:index/droplet:Droplet"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"


def _by_type(plan: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in plan["resources"] if r["type"] == type_}


def test_every_droplet_has_its_own_reserved_ip_and_is_reached_there(base) -> None:
    droplets = _by_type(base, DROPLET)
    addresses = _by_type(base, RESERVED_IP)
    assignments = _by_type(base, ASSIGNMENT)
    hosts = sorted(n.removesuffix("-vm-droplet") for n in droplets)
    assert hosts == ["lb-0", "webapp-0", "webapp-1"]
    # Named from the host's name, one each, in the droplet's region.
    assert sorted(addresses) == [f"{h}-vm-ip" for h in hosts]
    assert sorted(assignments) == [f"{h}-vm-ip-assignment" for h in hosts]
    for h in hosts:
        droplet, address, assignment = droplets[f"{h}-vm-droplet"], addresses[f"{h}-vm-ip"], assignments[f"{h}-vm-ip-assignment"]
        assert address["inputs"] == {"region": droplet["inputs"]["region"]}
        assert assignment["propertyDependencies"]["dropletId"] == [droplet["urn"]]
        assert assignment["propertyDependencies"]["ipAddress"] == [address["urn"]]
    # The load balancer's URL is its reserved IP, not the droplet's own address.
    reserved = public_ip("lb-0-vm-ip")
    assert base["outputs"]["webUrl"] == f"http://{reserved}/" and reserved != public_ip("lb-0-vm-droplet")
    # The database on GCP admits the web app by the droplets' own addresses: a reserved IP only
    # receives, the droplets' connections come from their own IPv4 (clouds/digitalocean/host.py).
    firewalls = _by_type(base, "gcp:compute/firewall:Firewall")
    webapp_sources = sorted(firewalls["database-fw-mongodb-webapp"]["inputs"]["sourceRanges"])
    assert webapp_sources == sorted(f"{public_ip(f'webapp-{i}-vm-droplet')}/32" for i in range(2))
    assert not set(webapp_sources) & {f"{public_ip(f'webapp-{i}-vm-ip')}/32" for i in range(2)}


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda c: c.__setitem__(f"{P}sshPublicKey", NEW_KEY), id="rotated-ssh-key"),
        pytest.param(lambda c: c[f"{P}hostServices"]["linuxDash"].__setitem__("enabled", False), id="linux-dash-off"),
    ],
)
def test_a_user_data_change_replaces_droplets_but_keeps_their_reserved_ips(base, tmp_path, edit) -> None:
    head = plan_with(tmp_path, edit)
    d = diff_plans(base, head)
    replaced = sorted(r["name"] for r, _ in d.changed if r["urn"] in d.replaced and r["type"] == DROPLET)
    assert replaced == ["lb-0-vm-droplet", "webapp-0-vm-droplet", "webapp-1-vm-droplet"]
    # The addresses are untouched, and nothing they take comes from a droplet.
    changed_types = {r["type"] for r, _ in d.changed}
    assert RESERVED_IP not in changed_types and ASSIGNMENT not in changed_types
    after = {r["urn"]: r for r in head["resources"]}
    for address in _by_type(head, RESERVED_IP).values():
        assert not any(after[u]["type"] == DROPLET for u in address["dependencies"])
    # Each assignment takes its droplet's id, a ForceNew input: the engine re-creates it for the
    # new droplet, which moves the address (create-before-delete, see host.py).
    for name, assignment in _by_type(head, ASSIGNMENT).items():
        (droplet_urn,) = assignment["propertyDependencies"]["dropletId"]
        assert droplet_urn in d.replaced and after[droplet_urn]["name"] == name.replace("-ip-assignment", "-droplet")
        assert not assignment["deleteBeforeReplace"]
    # The URL keeps its address; the only warnings are the droplets themselves.
    assert "webUrl" not in {path for path, _, _ in d.outputs}
    assert head["outputs"]["webUrl"] == base["outputs"]["webUrl"] == f"http://{public_ip('lb-0-vm-ip')}/"
    warned = [w for w in d.dangers if "digitalocean" in w]
    assert len(warned) == 3 and all(w.startswith("would replace a host: `digitalocean:index/droplet:Droplet`") for w in warned)
    assert not [w for w in d.dangers if "reservedIp" in w]
