"""The Gluster bootstrap script: shellcheck, its text, and its behaviour against a fake gluster CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rancher_stacks.workloads.gluster.render_bootstrap import Brick, render_bootstrap

SERVERS = ["gluster-s0", "gluster-s1", "gluster-s2"]


def bricks(count: int = 3) -> list[Brick]:
    return [Brick(s, f"/mnt/data/gluster/{s}/bricks/brick") for s in SERVERS[:count]]


def script(count: int = 3, **kwargs) -> str:
    return render_bootstrap(container="storage-s0", volume="ranchervol", bricks=bricks(count), **kwargs)


@pytest.mark.parametrize("count", [2, 3])
def test_bootstrap_passes_shellcheck(tmp_path, count, validator):
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / "bootstrap.sh"
    path.write_text(script(count))
    result = subprocess.run([shellcheck, "-s", "sh", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bootstrap_probes_every_peer_and_creates_a_replica_volume_once():
    text = script(3)
    for peer in SERVERS[1:]:
        assert f"gl peer probe {peer}\n" in text
    assert "gl peer probe gluster-s0" not in text, "the server the script runs next to is not probed"
    specs = " ".join(f"{s}:/mnt/data/gluster/{s}/bricks/brick" for s in SERVERS)
    assert "REPLICA=3\n" in text
    assert f'gl volume create "$VOLUME" replica "$REPLICA" {specs}\n' in text
    # Idempotency guards: create only when `volume info` fails, start only when not started.
    assert 'if ! gl volume info "$VOLUME" >/dev/null 2>&1; then' in text
    assert "if ! gl volume info \"$VOLUME\" | grep -q '^Status: Started$'; then" in text
    assert 'gl volume add-brick "$VOLUME" replica "$have" "$brick"' in text
    assert text.count("docker exec") == 1 and 'docker exec "$CONTAINER" gluster --mode=script' in text


def test_bootstrap_rejects_what_cannot_be_a_replicated_volume():
    with pytest.raises(ValueError, match="2 or more bricks"):
        render_bootstrap(container="c", volume="v", bricks=bricks(1))
    with pytest.raises(ValueError, match="distinct servers"):
        render_bootstrap(container="c", volume="v", bricks=[Brick("a", "/x"), Brick("a", "/y")])
    with pytest.raises(ValueError, match="volume name"):
        render_bootstrap(container="c", volume="bad name", bricks=bricks(2))
    with pytest.raises(ValueError, match="plain absolute path"):
        Brick("a", "relative/brick")
    with pytest.raises(ValueError, match="valid host name"):
        Brick("a;rm -rf /", "/brick")


# --------------------------------------------------------------------------- behaviour

FAKE_DOCKER = r'''
"""A fake ``docker exec <container> gluster --mode=script ...`` with its state in a JSON file."""
import json, os, sys

state_path, log_path = os.environ["FAKE_STATE"], os.environ["FAKE_LOG"]
with open(state_path) as f:
    state = json.load(f)
args = sys.argv[1:]
assert args[0] == "exec" and args[2:4] == ["gluster", "--mode=script"], args
cmd = args[4:]
with open(log_path, "a") as f:
    f.write(" ".join(cmd) + "\n")


def done(code=0, out=""):
    with open(state_path, "w") as f:
        json.dump(state, f)
    sys.stdout.write(out)
    sys.exit(code)


vol = state.get("volume")
if cmd[:2] == ["pool", "list"]:
    done(0, "UUID\tHostname\tState\n")
if cmd[:2] == ["peer", "probe"]:
    if cmd[2] not in state["peers"]:
        state["peers"].append(cmd[2])
    done(0, "peer probe: success\n")
if cmd[:2] == ["peer", "status"]:
    word = "Connected" if state["connected"] else "Disconnected"
    out = f"Number of Peers: {len(state['peers'])}\n"
    for p in state["peers"]:
        out += f"\nHostname: {p}\nState: Peer in Cluster ({word})\n"
    done(0, out)
if cmd[:2] == ["volume", "info"]:
    if vol is None:
        sys.stderr.write(f"Volume {cmd[2]} does not exist\n")
        done(1)
    n = len(vol["bricks"])
    out = f"Volume Name: {cmd[2]}\nType: Replicate\nStatus: {'Started' if vol['started'] else 'Created'}\n"
    out += f"Number of Bricks: 1 x {n} = {n}\nBricks:\n"
    out += "".join(f"Brick{i + 1}: {b}\n" for i, b in enumerate(vol["bricks"]))
    done(0, out)
if cmd[:2] == ["volume", "create"]:
    assert vol is None, "volume create on an existing volume"
    assert cmd[3] == "replica" and int(cmd[4]) == len(cmd[5:]), cmd
    for b in cmd[6:]:
        assert b.split(":")[0] in state["peers"], f"brick on a server that is not a peer: {b}"
    state["volume"] = {"bricks": cmd[5:], "started": False, "options": {}}
    done(0, "volume create: success\n")
if cmd[:2] == ["volume", "add-brick"]:
    assert cmd[3] == "replica" and int(cmd[4]) == len(vol["bricks"]) + 1, (cmd, vol)
    vol["bricks"].append(cmd[5])
    done(0, "volume add-brick: success\n")
if cmd[:2] == ["volume", "start"]:
    if vol["started"]:
        sys.stderr.write("volume start: failed: already started\n")
        done(1)
    vol["started"] = True
    done(0)
if cmd[:2] == ["volume", "set"]:
    vol["options"][cmd[3]] = cmd[4]
    done(0)
if cmd[:2] == ["volume", "heal"]:
    done(0)
sys.stderr.write(f"fake gluster: unknown command {cmd}\n")
done(2)
'''


class FakeGluster:
    """Runs a rendered script with ``docker`` replaced by the fake above."""

    def __init__(self, tmp_path: Path, **state) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        docker = self.bin / "docker"
        docker.write_text(f"#!{sys.executable}\n" + textwrap.dedent(FAKE_DOCKER))
        docker.chmod(0o755)
        self.state_path = tmp_path / "state.json"
        self.log_path = tmp_path / "calls.log"
        self.state_path.write_text(json.dumps({"peers": [], "connected": True, "volume": None, **state}))

    def run(self, text: str) -> subprocess.CompletedProcess:
        self.log_path.write_text("")
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "FAKE_STATE": str(self.state_path),
            "FAKE_LOG": str(self.log_path),
        }
        return subprocess.run(["/bin/sh", "-c", text], env=env, capture_output=True, text=True, timeout=30)

    @property
    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    @property
    def calls(self) -> list[str]:
        return self.log_path.read_text().splitlines()


def test_a_fresh_cluster_gets_peers_a_started_volume_and_a_short_ping_timeout(tmp_path):
    fake = FakeGluster(tmp_path)
    result = fake.run(script(3))
    assert result.returncode == 0, result.stderr
    state = fake.state
    assert state["peers"] == SERVERS[1:]
    assert state["volume"]["bricks"] == [b.spec for b in bricks(3)]
    assert state["volume"]["started"] is True
    assert state["volume"]["options"] == {"network.ping-timeout": "10", "cluster.heal-timeout": "10"}
    assert [c for c in fake.calls if c.startswith("volume create")] == [
        "volume create ranchervol replica 3 " + " ".join(b.spec for b in bricks(3))
    ]


def test_a_second_run_changes_nothing(tmp_path):
    fake = FakeGluster(tmp_path)
    assert fake.run(script(3)).returncode == 0
    before = fake.state
    result = fake.run(script(3))
    assert result.returncode == 0, result.stderr
    assert fake.state == before
    assert not [c for c in fake.calls if c.split()[:2] in (["volume", "create"], ["volume", "start"])]
    assert not [c for c in fake.calls if "add-brick" in c or c.split()[:2] == ["volume", "heal"]]


def test_a_new_server_joins_an_existing_volume_as_one_more_replica(tmp_path):
    fake = FakeGluster(tmp_path)
    assert fake.run(script(2)).returncode == 0
    result = fake.run(script(3))
    assert result.returncode == 0, result.stderr
    assert fake.state["volume"]["bricks"] == [b.spec for b in bricks(3)]
    assert f"volume add-brick ranchervol replica 3 {bricks(3)[2].spec}" in fake.calls
    assert "volume heal ranchervol full" in fake.calls
    assert not [c for c in fake.calls if c.startswith("volume create") or c.startswith("volume start")]


def test_peers_that_never_connect_fail_the_bootstrap_after_bounded_attempts(tmp_path):
    fake = FakeGluster(tmp_path, connected=False)
    result = fake.run(script(3, attempts=1))
    assert result.returncode == 1
    assert "only 0 of 2 peers are connected" in result.stderr
    assert fake.state["volume"] is None, "no volume is created without its peers"
