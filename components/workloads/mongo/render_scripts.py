"""Scripts for the MongoDB replica set: the member entrypoint and the replica-set reconciler.

Pure functions from names to sh text (with mongosh JavaScript embedded), checked with
``shellcheck`` in the tests.

**Member entrypoint.** A member needs three files that must not sit on the host's disk or in the
image: the shared keyfile (internal authentication), its TLS certificate with private key, and
the replica set's CA certificate. mongod only accepts a keyfile owned by the user running mongod
and not readable by group or others; the official image starts as root and drops to the
``mongodb`` user in its own entrypoint. So a small wrapper runs first, as root: for each of
:data:`MEMBER_FILES` it writes the content of a (secret) container environment variable to its
path with mode 0400, owner ``mongodb``, then removes the variables from its environment and
``exec``\\ s the image's ``docker-entrypoint.sh``. The files live in the container's own
filesystem, never on the host's data volume, and are rewritten at every start, so a new key or
certificate only needs a new container. (``root``, which ``docker exec`` runs as, reads them
too: the reconciler's mongosh presents the member's certificate.)

**Replica-set reconciler.** Runs where the first member's ``docker`` CLI works and drives
``mongosh`` inside that member's container with ``docker exec``:

1. wait (bounded) until mongosh runs in the container;
2. wait (bounded) until every wanted member answers ``hello`` on its advertised address as a
   replica-set member (the image's first-start initialisation runs a temporary mongod that is
   bound to 127.0.0.1 and is not one);
3. if no member belongs to a replica set yet: ``replSetInitiate`` with all members, ``_id``
   0..N-1, then wait (bounded) for a primary;
4. if the set exists: compare its members with the wanted ones on the primary and apply the
   difference one member per ``replSetReconfig`` (MongoDB allows one voting member change per
   reconfig): additions first, then removals, so the majority is never at risk. Removing the
   current primary is refused with a message (step it down first, then run again);
5. a set of another name answering on a wanted address stops the script.

Every connection is TLS (the members run ``--tlsMode requireTLS``): verified against the
replica set's CA (:data:`TLS_CA_PATH`), presenting the member's own certificate
(:data:`TLS_CERTIFICATE_KEY_PATH`). mongosh runs with ``--nodb`` and opens its connections with
``new Mongo(uri)``, which does not inherit mongosh's command-line TLS options, so the options
are part of every connection string: ``tls=true&tlsCAFile=...&tlsCertificateKeyFile=...``. The
first member is dialled as ``127.0.0.1`` (an IP SAN of every member certificate; ``localhost``
could resolve to ``::1``, where mongod does not listen), the others at their advertised
addresses, which their certificates name.

The root password is never part of the script, and never travels in the SSH session's
environment (RancherOS-family sshd has no ``AcceptEnv``, and pulumi-command fails a command whose
``Setenv`` is refused): mongosh reads it from the member container's own
``MONGO_INITDB_ROOT_PASSWORD``, which every ``docker exec`` process inherits from the container's
configuration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional, Sequence

KEYFILE_PATH = "/etc/mongo-keyfile"
KEYFILE_ENV = "MONGO_KEYFILE_CONTENT"
TLS_CERTIFICATE_KEY_PATH = "/etc/mongo-tls-member.pem"
TLS_CERTIFICATE_KEY_ENV = "MONGO_TLS_CERTIFICATE_KEY"
TLS_CA_PATH = "/etc/mongo-tls-ca.pem"
TLS_CA_ENV = "MONGO_TLS_CA"
ENTRYPOINT_PATH = "/usr/local/bin/rancher-stacks-mongo-entrypoint.sh"
# The member container's own variable (the official image's), inherited by ``docker exec``.
ROOT_PASSWORD_ENV = "MONGO_INITDB_ROOT_PASSWORD"
ROOT_USERNAME = "root"
# The application's own user's password: read by the reconciler script from its standard input
# (a secret input of the command, never its text or an SSH variable) and handed to mongosh in
# the member container as this variable of ``docker exec`` (``-e NAME`` copies it from the
# script's environment, so it is not on any command line).
APP_PASSWORD_ENV = "MONGO_APP_PASSWORD"

_CONTAINER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MEMBER = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$")
_USER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# MongoDB database names: no /\. "$*<>:|? or spaces, under 64 bytes.
_DATABASE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


@dataclass(frozen=True)
class AppUser:
    """An application's own MongoDB user: ``readWrite`` on ``database``, authenticating at admin."""

    user: str
    database: str

    def __post_init__(self) -> None:
        if not _USER.match(self.user) or self.user == ROOT_USERNAME:
            raise ValueError(f"application user {self.user!r} must match {_USER.pattern} and not be {ROOT_USERNAME}")
        if not _DATABASE.match(self.database) or self.database in ("admin", "local", "config"):
            raise ValueError(f"application database {self.database!r} must match {_DATABASE.pattern}, not a system one")
_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_WHAT = re.compile(r"^[A-Za-z0-9 .-]+$")


@dataclass(frozen=True)
class MemberFile:
    """A file the member entrypoint writes from an environment variable (mode 0400, mongodb)."""

    path: str
    env_var: str
    what: str


MEMBER_FILES = (
    MemberFile(KEYFILE_PATH, KEYFILE_ENV, "the replica-set keyfile"),
    MemberFile(TLS_CERTIFICATE_KEY_PATH, TLS_CERTIFICATE_KEY_ENV, "the TLS certificate and key"),
    MemberFile(TLS_CA_PATH, TLS_CA_ENV, "the TLS CA certificate"),
)


def render_member_entrypoint(files: Sequence[MemberFile] = MEMBER_FILES) -> str:
    """The wrapper entrypoint that installs ``files``, then runs the image's entrypoint."""
    if not files:
        raise ValueError("the member entrypoint needs at least one file to install")
    for f in files:
        if not _PATH.match(f.path):
            raise ValueError(f"path {f.path!r} must be a plain absolute path")
        if not _ENV.match(f.env_var):
            raise ValueError(f"environment variable name {f.env_var!r} is not valid")
        if not _WHAT.match(f.what):
            raise ValueError(f"description {f.what!r} must be plain words")
    for attr in ("path", "env_var"):
        values = [getattr(f, attr) for f in files]
        if len(set(values)) != len(values):
            raise ValueError(f"member files repeat a {attr}: {values}")
    installs = "".join(
        f'install_from_env {f.env_var} "${{{f.env_var}:-}}" \'{f.path}\' \'{f.what}\'\n'
        for f in files
    )
    names = " ".join(f.env_var for f in files)
    return f"""#!/bin/sh
# Installs the member's keyfile and TLS files from environment variables (mode 0400, owner
# mongodb), then hands over to the official image's entrypoint. Runs as root, before that
# entrypoint drops to mongodb.
set -eu
umask 0277

# install_from_env NAME VALUE PATH WHAT: write VALUE (the variable NAME) to PATH.
install_from_env() {{
  if [ -z "$2" ]; then
    echo "member entrypoint: $1 is empty; cannot install $4" >&2
    exit 1
  fi
  rm -f "$3"
  printf '%s\\n' "$2" > "$3"
  chown mongodb:mongodb "$3"
  chmod 0400 "$3"
}}

{installs}unset {names}
exec docker-entrypoint.sh "$@"
"""


def replica_set_config(replica_set_name: str, members: Sequence[str]) -> dict[str, object]:
    """The ``replSetInitiate`` document: every member, ``_id`` 0..N-1 in the given order."""
    _check_members(replica_set_name, members)
    return {
        "_id": replica_set_name,
        "members": [{"_id": i, "host": host} for i, host in enumerate(members)],
    }


def _check_members(replica_set_name: str, members: Sequence[str]) -> None:
    if not _SET_NAME.match(replica_set_name):
        raise ValueError(f"replica set name {replica_set_name!r} must match {_SET_NAME.pattern}")
    if not members:
        raise ValueError("a replica set needs members")
    for host in members:
        if not _MEMBER.match(host) or not 1 <= int(host.rsplit(":", 1)[1]) <= 65535:
            raise ValueError(f"member {host!r} must be host:port (a host name or IPv4 address)")
    if len(set(members)) != len(members):
        raise ValueError(f"members repeat: {list(members)}")


def _check_tls_files(ca_file: str, certificate_key_file: str) -> None:
    for path in (ca_file, certificate_key_file):
        if not _PATH.match(path):
            raise ValueError(f"TLS file path {path!r} must be a plain absolute path")


def render_replica_set_js(
    replica_set_name: str,
    members: Sequence[str],
    *,
    username: str = ROOT_USERNAME,
    wait_seconds: int = 180,
    tls_ca_file: str = TLS_CA_PATH,
    tls_certificate_key_file: str = TLS_CERTIFICATE_KEY_PATH,
    app_user: Optional[AppUser] = None,
) -> str:
    """The mongosh program that initiates the set, or reconciles its members (see module doc);
    then, with ``app_user``, creates that user (or resets its password and roles): ``readWrite``
    on its own database and nothing else."""
    config = replica_set_config(replica_set_name, members)
    if not _USER.match(username):
        raise ValueError(f"user name {username!r} must match {_USER.pattern}")
    app = json.dumps({"user": app_user.user, "db": app_user.database} if app_user else None)
    if wait_seconds < 1:
        raise ValueError("wait_seconds must be positive")
    _check_tls_files(tls_ca_file, tls_certificate_key_file)
    wanted = json.dumps(config, separators=(", ", ": "))
    return f"""// Replica set {replica_set_name}: initiate it, or reconcile its members.
const wanted = {wanted};
const user = {json.dumps(username)};
const password = process.env.{ROOT_PASSWORD_ENV} || "";
const app = {app};
const appPassword = process.env.{APP_PASSWORD_ENV} || "";
const deadline = Date.now() + {wait_seconds * 1000};
// requireTLS: verify the members against the replica set's CA, present this member's certificate.
const options = "/?directConnection=true&serverSelectionTimeoutMS=3000&connectTimeoutMS=3000" +
  "&tls=true&tlsCAFile=" + encodeURIComponent({json.dumps(tls_ca_file)}) +
  "&tlsCertificateKeyFile=" + encodeURIComponent({json.dumps(tls_certificate_key_file)});
if (password === "") {{
  throw new Error("no root password: the member container has no {ROOT_PASSWORD_ENV}");
}}
if (app !== null && appPassword === "") {{
  throw new Error("no password for the application user " + app.user + " ({APP_PASSWORD_ENV})");
}}

function hello(host) {{
  try {{
    const conn = new Mongo("mongodb://" + host + options);
    const reply = conn.getDB("admin").runCommand({{ hello: 1 }});
    conn.close();
    return reply;
  }} catch (err) {{
    return null;
  }}
}}

function isMember(reply) {{
  return reply !== null && (reply.setName !== undefined || reply.isreplicaset === true);
}}

function admin(host) {{
  const adminDb = new Mongo("mongodb://" + host + options).getDB("admin");
  adminDb.auth(user, password);
  return adminDb;
}}

function mustSucceed(what, reply) {{
  if (reply.ok !== 1) {{
    throw new Error(what + " failed: " + JSON.stringify(reply));
  }}
}}

function survey() {{
  for (;;) {{
    const replies = {{}};
    const silent = [];
    for (const member of wanted.members) {{
      const reply = hello(member.host);
      if (isMember(reply)) {{
        replies[member.host] = reply;
      }} else {{
        silent.push(member.host);
      }}
    }}
    const inSet = Object.keys(replies).filter((h) => replies[h].setName !== undefined);
    for (const host of inSet) {{
      if (replies[host].setName !== wanted._id) {{
        throw new Error(host + " belongs to replica set " + replies[host].setName + ", not " + wanted._id);
      }}
    }}
    const primaries = inSet.map((h) => replies[h].primary).filter((p) => p !== undefined);
    if (inSet.length > 0 && primaries.length > 0) {{
      return {{ initiated: true, primary: primaries[0] }};
    }}
    if (inSet.length === 0 && silent.length === 0) {{
      return {{ initiated: false, primary: null }};
    }}
    if (Date.now() > deadline) {{
      throw new Error("gave up waiting; not answering as replica-set members: " + silent.join(", ") +
        (inSet.length > 0 ? "; no primary among " + inSet.join(", ") : ""));
    }}
    sleep(2000);
  }}
}}

function waitForPrimary(adminDb) {{
  while (adminDb.runCommand({{ hello: 1 }}).primary === undefined) {{
    if (Date.now() > deadline) {{
      throw new Error("replica set " + wanted._id + " elected no primary in time");
    }}
    sleep(1000);
  }}
}}

function reconfigure(adminDb, change) {{
  const config = adminDb.runCommand({{ replSetGetConfig: 1 }}).config;
  change(config);
  config.version += 1;
  mustSucceed("replSetReconfig", adminDb.runCommand({{ replSetReconfig: config }}));
}}

// The application's user: readWrite on its database only, defined in admin (authSource=admin).
function ensureAppUser(adminDb) {{
  const roles = [{{ role: "readWrite", db: app.db }}];
  const found = adminDb.runCommand({{ usersInfo: {{ user: app.user, db: "admin" }} }});
  mustSucceed("usersInfo", found);
  if (found.users.length === 0) {{
    mustSucceed("createUser", adminDb.runCommand({{ createUser: app.user, pwd: appPassword, roles: roles }}));
    print("created user " + app.user + " with readWrite on " + app.db);
  }} else {{
    mustSucceed("updateUser", adminDb.runCommand({{ updateUser: app.user, pwd: appPassword, roles: roles }}));
    print("user " + app.user + " has readWrite on " + app.db + " only");
  }}
}}

const state = survey();
let primaryDb;
if (!state.initiated) {{
  const adminDb = admin("127.0.0.1:27017");
  primaryDb = adminDb;
  mustSucceed("replSetInitiate", adminDb.runCommand({{ replSetInitiate: wanted }}));
  waitForPrimary(adminDb);
  print("initiated replica set " + wanted._id + " with " + wanted.members.length + " members: " +
    wanted.members.map((m) => m.host).join(", "));
}} else {{
  const adminDb = admin(state.primary);
  primaryDb = adminDb;
  const have = adminDb.runCommand({{ replSetGetConfig: 1 }}).config.members.map((m) => m.host);
  const want = wanted.members.map((m) => m.host);
  const add = want.filter((h) => !have.includes(h));
  const remove = have.filter((h) => !want.includes(h));
  if (remove.includes(state.primary)) {{
    throw new Error(state.primary + " is the primary and is to be removed: " +
      "run rs.stepDown() on it, then run again");
  }}
  for (const host of add) {{
    reconfigure(adminDb, (config) => {{
      const next = Math.max(...config.members.map((m) => m._id)) + 1;
      config.members.push({{ _id: next, host: host }});
    }});
    print("added " + host + " to replica set " + wanted._id);
  }}
  for (const host of remove) {{
    reconfigure(adminDb, (config) => {{
      config.members = config.members.filter((m) => m.host !== host);
    }});
    print("removed " + host + " from replica set " + wanted._id);
  }}
  if (add.length === 0 && remove.length === 0) {{
    print("replica set " + wanted._id + " already has the wanted members: " + want.join(", "));
  }}
}}
if (app !== null) {{
  ensureAppUser(primaryDb);
}}
"""


def render_replica_set_script(
    *,
    container: str,
    replica_set_name: str,
    members: Sequence[str],
    username: str = ROOT_USERNAME,
    attempts: int = 60,
    interval_seconds: int = 2,
    wait_seconds: int = 180,
    tls_ca_file: str = TLS_CA_PATH,
    tls_certificate_key_file: str = TLS_CERTIFICATE_KEY_PATH,
    app_user: Optional[AppUser] = None,
) -> str:
    """The sh script that runs :func:`render_replica_set_js` in ``container`` (members[0]).

    With ``app_user`` the script's standard input is that user's password (one line)."""
    if not _CONTAINER.match(container):
        raise ValueError(f"container name {container!r} is not a valid docker container name")
    if attempts < 1 or interval_seconds < 1:
        raise ValueError("attempts and interval_seconds must be positive")
    js = render_replica_set_js(
        replica_set_name,
        members,
        username=username,
        wait_seconds=wait_seconds,
        tls_ca_file=tls_ca_file,
        tls_certificate_key_file=tls_certificate_key_file,
        app_user=app_user,
    )
    if "\nRS_JS\n" in f"\n{js}\n":
        raise ValueError("the script body may not contain the here-document delimiter")
    limit = attempts * interval_seconds
    read_password = (
        f"""# The application user's password: one line on standard input.
{APP_PASSWORD_ENV}=''
IFS= read -r {APP_PASSWORD_ENV} || true
if [ -z "${APP_PASSWORD_ENV}" ]; then
  echo "no password for the application user on standard input" >&2
  exit 1
fi
export {APP_PASSWORD_ENV}
"""
        if app_user
        else ""
    )
    pass_password = f"-e {APP_PASSWORD_ENV} " if app_user else ""
    return f"""#!/bin/sh
# MongoDB replica set {replica_set_name}: {len(members)} members, driven through container {container}.
# Safe to re-run: it initiates the set once, later it only reconciles the member list.
set -eu
container='{container}'
{read_password}i=0
until docker exec "$container" mongosh --quiet --norc --nodb --eval 'quit(0)' >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge {attempts} ]; then
    echo "mongosh did not run in container $container within {limit} s" >&2
    exit 1
  fi
  sleep {interval_seconds}
done
# Every member runs requireTLS: without its CA and certificate, mongosh cannot reach any of them.
for file in '{tls_ca_file}' '{tls_certificate_key_file}'; do
  if ! docker exec "$container" test -s "$file"; then
    echo "container $container has no $file; it must be started by the TLS member entrypoint" >&2
    exit 1
  fi
done
js=$(cat <<'RS_JS'
{js}RS_JS
)
docker exec {pass_password}"$container" mongosh --quiet --norc --nodb --eval "$js"
"""
