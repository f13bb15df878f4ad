"""The MongoDB scripts: shellcheck on the sh, and the reconciler's JavaScript run against a fake
replica set under node (mongosh is JavaScript on node; the fake stands in for its ``Mongo``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from rancher_stacks.workloads.mongo.render_scripts import (
    APP_PASSWORD_ENV,
    KEYFILE_ENV,
    KEYFILE_PATH,
    MEMBER_FILES,
    ROOT_PASSWORD_ENV,
    TLS_CA_ENV,
    TLS_CA_PATH,
    TLS_CERTIFICATE_KEY_ENV,
    TLS_CERTIFICATE_KEY_PATH,
    AppUser,
    MemberFile,
    render_member_entrypoint,
    render_replica_set_js,
    render_replica_set_script,
    replica_set_config,
)

A, B, C, D = "10.0.0.1:27017", "10.0.0.2:27017", "10.0.0.3:27017", "10.0.0.4:27017"
PASSWORD = "pw-from-the-environment"


@pytest.fixture
def shellcheck(validator):
    """``shellcheck(script, tmp_path)``: asserts the script passes; skips (fails under CI) without shellcheck."""

    def check(script: str, tmp_path: Path) -> None:
        path = tmp_path / "script.sh"
        path.write_text(script)
        result = subprocess.run(
            [validator("shellcheck", "shellcheck"), "--shell=sh", "--severity=style", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    return check


def embedded_config(script: str) -> dict:
    match = re.search(r"^const wanted = (\{.*\});$", script, re.M)
    assert match, "the script embeds no 'const wanted = {...};'"
    return json.loads(match.group(1))


# --------------------------------------------------------------------------- sh and shellcheck


def test_replica_set_script_passes_shellcheck(tmp_path, shellcheck):
    shellcheck(render_replica_set_script(container="db-h0", replica_set_name="rs0", members=[A, B, C]), tmp_path)


def test_member_entrypoint_passes_shellcheck(tmp_path, shellcheck):
    shellcheck(render_member_entrypoint(), tmp_path)


@pytest.mark.parametrize("count", [3, 5, 7])
def test_embedded_config_lists_every_member_with_ids_from_zero(count):
    members = [f"10.0.0.{i + 1}:27017" for i in range(count)]
    script = render_replica_set_script(container="db-h0", replica_set_name="rs0", members=members)
    config = embedded_config(script)
    assert config == replica_set_config("rs0", members)
    assert config["_id"] == "rs0"
    assert [m["_id"] for m in config["members"]] == list(range(count))
    assert [m["host"] for m in config["members"]] == members


def test_script_drives_the_first_member_and_keeps_the_password_out_of_its_text():
    script = render_replica_set_script(container="db-h0", replica_set_name="rs0", members=[A, B, C])
    assert "container='db-h0'" in script
    assert 'docker exec "$container" mongosh' in script and "docker exec -e" not in script
    assert f"process.env.{ROOT_PASSWORD_ENV}" in script
    assert "mongosh --quiet --norc --nodb --eval 'quit(0)'" in script  # the bounded wait
    assert '-ge 60 ]' in script
    assert "-p " not in script and "--password" not in script


def test_member_entrypoint_installs_private_mongodb_owned_files():
    script = render_member_entrypoint()
    assert [(f.path, f.env_var) for f in MEMBER_FILES] == [
        (KEYFILE_PATH, KEYFILE_ENV),
        (TLS_CERTIFICATE_KEY_PATH, TLS_CERTIFICATE_KEY_ENV),
        (TLS_CA_PATH, TLS_CA_ENV),
    ]
    for f in MEMBER_FILES:
        assert f'install_from_env {f.env_var} "${{{f.env_var}:-}}" \'{f.path}\'' in script
    assert 'printf \'%s\\n\' "$2" > "$3"' in script
    assert 'chown mongodb:mongodb "$3"' in script
    assert 'chmod 0400 "$3"' in script
    assert "umask 0277" in script
    assert f"unset {KEYFILE_ENV} {TLS_CERTIFICATE_KEY_ENV} {TLS_CA_ENV}\n" in script
    assert script.rstrip().endswith('exec docker-entrypoint.sh "$@"')


def run_entrypoint(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, Path]:
    """Run the entrypoint for real, with files under tmp_path and chown/exec stubbed on PATH."""
    root = tmp_path / "root"
    root.mkdir()
    files = [MemberFile(str(root / f"file{i}"), f.env_var, f.what) for i, f in enumerate(MEMBER_FILES)]
    script = tmp_path / "entrypoint.sh"
    script.write_text(render_member_entrypoint(files))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chown").write_text("#!/bin/sh\necho \"chown $*\" >> \"$STUB_LOG\"\n")
    (bin_dir / "docker-entrypoint.sh").write_text(
        "#!/bin/sh\necho \"exec $*\" >> \"$STUB_LOG\"\nenv | grep -c '^MONGO_' >> \"$STUB_LOG\" || true\n"
    )
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    environment = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "STUB_LOG": str(tmp_path / "log")}
    environment.update(env)
    result = subprocess.run(
        ["sh", str(script), "mongod", "--replSet", "rs0"],
        capture_output=True, text=True, timeout=60, env=environment, check=False,
    )
    return result, root


def test_member_entrypoint_writes_each_file_0400_and_hands_over_without_the_secrets(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    env = {KEYFILE_ENV: "c2VjcmV0", TLS_CERTIFICATE_KEY_ENV: pem + "KEY", TLS_CA_ENV: pem}
    result, root = run_entrypoint(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert (root / "file0").read_text() == "c2VjcmV0\n"
    assert (root / "file1").read_text() == pem + "KEY\n"
    assert (root / "file2").read_text() == pem + "\n"
    for i in range(3):
        assert (root / f"file{i}").stat().st_mode & 0o777 == 0o400
    log = (tmp_path / "log").read_text().splitlines()
    assert log == [f"chown mongodb:mongodb {root / f'file{i}'}" for i in range(3)] + [
        "exec mongod --replSet rs0",
        "0",  # no MONGO_* variable reaches the image's entrypoint
    ]


@pytest.mark.parametrize("missing", [KEYFILE_ENV, TLS_CERTIFICATE_KEY_ENV, TLS_CA_ENV])
def test_member_entrypoint_refuses_to_start_without_a_file(tmp_path, missing):
    env = {KEYFILE_ENV: "k", TLS_CERTIFICATE_KEY_ENV: "pem", TLS_CA_ENV: "ca"}
    del env[missing]
    result, _ = run_entrypoint(tmp_path, env)
    assert result.returncode != 0
    assert f"{missing} is empty" in result.stderr
    assert not (tmp_path / "log").exists() or "exec" not in (tmp_path / "log").read_text()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ((), "at least one file"),
        ((MemberFile("relative", "A", "x"),), "plain absolute path"),
        ((MemberFile("/a", "a-b", "x"),), "environment variable name"),
        ((MemberFile("/a", "A", "x'; reboot; '"),), "plain words"),
        ((MemberFile("/a", "A", "x"), MemberFile("/a", "B", "y")), "repeat a path"),
    ],
)
def test_member_entrypoint_rejects_bad_files(files, message):
    with pytest.raises(ValueError, match=message):
        render_member_entrypoint(files)


def test_every_connection_of_the_reconciler_is_tls_with_the_member_certificate(tmp_path, shellcheck):
    script = render_replica_set_script(container="db-h0", replica_set_name="rs0", members=[A, B, C])
    shellcheck(script, tmp_path)
    options = re.search(r'^const options = (.*?);$', script, re.M | re.S)
    assert options, "the script sets no connection options"
    text = options.group(1)
    assert '"&tls=true&tlsCAFile=" + encodeURIComponent("/etc/mongo-tls-ca.pem")' in text
    assert '"&tlsCertificateKeyFile=" + encodeURIComponent("/etc/mongo-tls-member.pem")' in text
    assert script.count('new Mongo("mongodb://" + host + options)') == 2  # hello() and admin()
    assert "new Mongo(" not in script.replace('new Mongo("mongodb://" + host + options)', "")
    # Before any connection, the script checks that the container has its TLS files.
    assert f"for file in '{TLS_CA_PATH}' '{TLS_CERTIFICATE_KEY_PATH}'; do" in script
    assert 'docker exec "$container" test -s "$file"' in script


def test_tls_file_paths_are_checked():
    with pytest.raises(ValueError, match="TLS file path"):
        render_replica_set_script(
            container="db-h0", replica_set_name="rs0", members=[A, B, C], tls_ca_file="ca.pem"
        )
    with pytest.raises(ValueError, match="TLS file path"):
        render_replica_set_js("rs0", [A, B, C], tls_certificate_key_file="/x'y")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"members": [A, A, B]}, "repeat"),
        ({"members": ["10.0.0.1"]}, "host:port"),
        ({"members": ["10.0.0.1:99999"]}, "host:port"),
        ({"members": ["$(reboot):27017"]}, "host:port"),
        ({"members": []}, "needs members"),
        ({"replica_set_name": "rs 0"}, "replica set name"),
        ({"container": "db;h0"}, "container name"),
    ],
)
def test_bad_inputs_are_rejected(kwargs, message):
    settings = {"container": "db-h0", "replica_set_name": "rs0", "members": [A, B, C], **kwargs}
    with pytest.raises(ValueError, match=message):
        render_replica_set_script(**settings)


# --------------------------------------------------------------------------- the JS, under node

# A fake of the mongosh API the reconciler uses, over an in-memory replica set. Time is virtual:
# sleep() advances it, so waits are instant and bounded waits can be exercised.
FAKE_MONGOSH = r"""
const cluster = JSON.parse(process.env.FAKE_CLUSTER);
cluster.calls = [];
let now = 0;
Date.now = () => now;
globalThis.sleep = (ms) => { now += ms; };
globalThis.print = (...args) => console.log(...args);
const SELF = "127.0.0.1:27017";
function node(host) {
  const name = host === SELF ? cluster.self : host;
  const n = cluster.nodes[name];
  if (n === undefined || now < (n.upAt === undefined ? 0 : n.upAt) || n.down) {
    throw new Error("connect ECONNREFUSED " + host);
  }
  return [name, n];
}
class Mongo {
  constructor(uri) {
    // The members run requireTLS: a connection without the CA and the member's certificate fails.
    const query = new URLSearchParams(uri.split("?")[1] || "");
    if (query.get("tls") !== "true" || query.get("tlsCAFile") !== cluster.tlsCAFile ||
        query.get("tlsCertificateKeyFile") !== cluster.tlsCertificateKeyFile) {
      throw new Error("connection closed: the server requires TLS with the replica set's CA (" + uri + ")");
    }
    this.host = uri.replace("mongodb://", "").split("/")[0];
    node(this.host);
    this.authed = false;
  }
  close() {}
  getDB(name) {
    const conn = this;
    return {
      auth(user, pw) {
        if (user !== "root" || pw !== cluster.password) { throw new Error("Authentication failed."); }
        conn.authed = true;
        return { ok: 1 };
      },
      runCommand(cmd) {
        const [me, n] = node(conn.host);
        if (cmd.hello) {
          if (n.setName) {
            return { setName: n.setName, primary: cluster.primary, isWritablePrimary: cluster.primary === me, ok: 1 };
          }
          return { isreplicaset: true, isWritablePrimary: false, ok: 1 };
        }
        if (!conn.authed) { return { ok: 0, codeName: "Unauthorized" }; }
        if (cmd.replSetInitiate) {
          cluster.calls.push({ on: me, replSetInitiate: cmd.replSetInitiate });
          cluster.config = Object.assign({ version: 1 }, cmd.replSetInitiate);
          for (const m of cmd.replSetInitiate.members) { cluster.nodes[m.host].setName = cmd.replSetInitiate._id; }
          cluster.primary = me;
          return { ok: 1 };
        }
        if (cmd.usersInfo) {
          const users = (cluster.users || []).filter((u) => u.user === cmd.usersInfo.user);
          return { users: users, ok: 1 };
        }
        if (cmd.createUser || cmd.updateUser) {
          if (me !== cluster.primary) { return { ok: 0, codeName: "NotWritablePrimary" }; }
          cluster.calls.push({ on: me, ...cmd });
          cluster.users = (cluster.users || []).filter((u) => u.user !== (cmd.createUser || cmd.updateUser));
          cluster.users.push({ user: cmd.createUser || cmd.updateUser, roles: cmd.roles });
          return { ok: 1 };
        }
        if (cmd.replSetGetConfig) { return { config: JSON.parse(JSON.stringify(cluster.config)), ok: 1 }; }
        if (cmd.replSetReconfig) {
          if (me !== cluster.primary) { return { ok: 0, codeName: "NotWritablePrimary" }; }
          if (cmd.replSetReconfig.version !== cluster.config.version + 1) { return { ok: 0, codeName: "BadVersion" }; }
          cluster.calls.push({ on: me, replSetReconfig: cmd.replSetReconfig });
          cluster.config = cmd.replSetReconfig;
          return { ok: 1 };
        }
        return { ok: 0, codeName: "CommandNotFound" };
      },
    };
  }
}
globalThis.Mongo = Mongo;
process.on("exit", () => { console.log("CALLS " + JSON.stringify(cluster.calls)); });
"""


@pytest.fixture
def run_js(validator):
    """``run_js(members, cluster, tmp_path, env=None)``: run the reconciler for ``members`` against
    ``cluster`` under node; (exit code, output, calls). Skips (fails under CI) without node."""

    def run(members: list[str], cluster: dict, tmp_path: Path, env: dict | None = None, app_user=None):
        program = tmp_path / "reconcile.js"
        program.write_text(FAKE_MONGOSH + render_replica_set_js("rs0", members, wait_seconds=60, app_user=app_user))
        environment = {"PATH": os.environ.get("PATH", ""), "FAKE_CLUSTER": json.dumps(cluster)}
        environment.update({ROOT_PASSWORD_ENV: PASSWORD} if env is None else env)
        result = subprocess.run(
            [validator("node", "nodejs"), str(program)], capture_output=True, text=True, timeout=60,
            env=environment, check=False,
        )
        calls_line = [line for line in result.stdout.splitlines() if line.startswith("CALLS ")]
        calls = json.loads(calls_line[-1][len("CALLS "):]) if calls_line else []
        return result.returncode, result.stdout + result.stderr, calls

    return run


TLS_FILES = {"tlsCAFile": TLS_CA_PATH, "tlsCertificateKeyFile": TLS_CERTIFICATE_KEY_PATH}


def fresh(*hosts: str, **extra) -> dict:
    return {"self": hosts[0], "password": PASSWORD, "primary": None, "config": None,
            "nodes": {h: {} for h in hosts}, **TLS_FILES, **extra}


def existing(members: list[str], primary: str, *others: str) -> dict:
    nodes = {h: {"setName": "rs0"} for h in members}
    nodes.update({h: {} for h in others})
    config = {"_id": "rs0", "version": 1, "members": [{"_id": i, "host": h} for i, h in enumerate(members)]}
    return {"self": members[0], "password": PASSWORD, "primary": primary, "config": config, "nodes": nodes,
            **TLS_FILES}


def test_fresh_members_are_initiated_once_with_all_members(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path)
    assert code == 0, out
    assert calls == [{"on": A, "replSetInitiate": replica_set_config("rs0", [A, B, C])}]
    assert f"initiated replica set rs0 with 3 members: {A}, {B}, {C}" in out


def test_the_password_may_come_from_the_member_container_environment(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path, env={"MONGO_INITDB_ROOT_PASSWORD": PASSWORD})
    assert code == 0, out
    assert len(calls) == 1


def test_without_a_password_nothing_happens(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path, env={})
    assert code != 0 and "no root password" in out
    assert calls == []


def test_a_rerun_on_the_same_members_changes_nothing(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], existing([A, B, C], B), tmp_path)
    assert code == 0, out
    assert calls == []
    assert "already has the wanted members" in out


def test_a_replaced_member_is_added_then_the_old_one_removed_on_the_primary(tmp_path, run_js):
    code, out, calls = run_js([A, B, D], existing([A, B, C], B, D), tmp_path)
    assert code == 0, out
    assert [c["on"] for c in calls] == [B, B]
    added, removed = calls[0]["replSetReconfig"], calls[1]["replSetReconfig"]
    assert added["version"] == 2 and [(m["_id"], m["host"]) for m in added["members"]] == [
        (0, A), (1, B), (2, C), (3, D)]
    assert removed["version"] == 3 and [m["host"] for m in removed["members"]] == [A, B, D]
    assert f"added {D}" in out and f"removed {C}" in out


def test_the_primary_is_never_removed(tmp_path, run_js):
    code, out, calls = run_js([A, B, D], existing([A, B, C], C, D), tmp_path)
    assert code != 0 and "is the primary and is to be removed" in out
    assert calls == []


def test_a_member_of_another_set_stops_the_script(tmp_path, run_js):
    cluster = fresh(A, B, C)
    cluster["nodes"][B] = {"setName": "other"}
    code, out, calls = run_js([A, B, C], cluster, tmp_path)
    assert code != 0 and "belongs to replica set other, not rs0" in out
    assert calls == []


def test_initiation_waits_for_a_late_member(tmp_path, run_js):
    cluster = fresh(A, B, C)
    cluster["nodes"][C] = {"upAt": 30000}
    code, out, calls = run_js([A, B, C], cluster, tmp_path)
    assert code == 0, out
    assert len(calls) == 1 and "replSetInitiate" in calls[0]


def test_the_wait_for_members_is_bounded(tmp_path, run_js):
    cluster = fresh(A, B, C)
    cluster["nodes"][C] = {"down": True}
    code, out, calls = run_js([A, B, C], cluster, tmp_path)
    assert code != 0 and f"not answering as replica-set members: {C}" in out
    assert calls == []


def test_a_wrong_password_fails_loudly(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path, env={ROOT_PASSWORD_ENV: "wrong"})
    assert code != 0 and "Authentication failed" in out
    assert calls == []


def test_without_the_tls_files_no_member_answers(tmp_path, run_js):
    cluster = fresh(A, B, C, tlsCAFile="/elsewhere/ca.pem")
    code, out, calls = run_js([A, B, C], cluster, tmp_path)
    assert code != 0 and "not answering as replica-set members" in out
    assert calls == []


# --------------------------------------------------------------------------- the application's user

APP = AppUser("hitcounter", "hitcounter")


def test_the_app_user_is_created_with_readwrite_on_its_database_only(tmp_path, run_js):
    env = {ROOT_PASSWORD_ENV: PASSWORD, APP_PASSWORD_ENV: "app-secret"}
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path, env=env, app_user=APP)
    assert code == 0, out
    assert calls[1] == {"on": A, "createUser": "hitcounter", "pwd": "app-secret",
                        "roles": [{"role": "readWrite", "db": "hitcounter"}]}
    # Run again: the user exists, so only its password and roles are reset (on the primary).
    cluster = existing([A, B, C], B)
    cluster["users"] = [{"user": "hitcounter", "roles": [{"role": "root", "db": "admin"}]}]
    code, out, calls = run_js([A, B, C], cluster, tmp_path, env=env, app_user=APP)
    assert code == 0, out
    assert calls == [{"on": B, "updateUser": "hitcounter", "pwd": "app-secret",
                      "roles": [{"role": "readWrite", "db": "hitcounter"}]}]


def test_without_the_app_password_nothing_happens(tmp_path, run_js):
    code, out, calls = run_js([A, B, C], fresh(A, B, C), tmp_path, app_user=APP)
    assert code != 0 and "no password for the application user hitcounter" in out and calls == []


def test_the_script_reads_the_app_password_from_stdin_and_hands_it_to_docker_exec(tmp_path, validator):
    script = render_replica_set_script(container="db-0", replica_set_name="rs0", members=[A, B, C], app_user=APP)
    assert "IFS= read -r MONGO_APP_PASSWORD" in script
    assert 'docker exec -e MONGO_APP_PASSWORD "$container" mongosh' in script
    # A fake docker records what it was run with; the password is in its environment only.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        '#!/bin/sh\nprintf "%s %s %s %s %s pw=%s\\n" "$1" "$2" "$3" "$4" "$5" "$MONGO_APP_PASSWORD" >> "$LOG"\n'
    )
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "log"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log)}
    ok = subprocess.run(["sh", "-c", script], input="s3cret\n", text=True, env=env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    last = log.read_text().splitlines()[-1]
    assert last.startswith("exec -e MONGO_APP_PASSWORD db-0 mongosh") and last.endswith("pw=s3cret")
    assert "s3cret" not in last.split(" pw=")[0]
    empty = subprocess.run(["sh", "-c", script], input="", text=True, env=env, capture_output=True)
    assert empty.returncode == 1 and "no password for the application user" in empty.stderr


@pytest.mark.parametrize(("user", "database"), [("root", "app"), ("app", "admin"), ("app", "a/b"), ("a b", "x")])
def test_bad_app_users_are_refused(user, database):
    with pytest.raises(ValueError):
        AppUser(user, database)
