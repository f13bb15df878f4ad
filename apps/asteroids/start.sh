#!/bin/sh
# Entrypoint of the Asteroids image (runs under tini). One image, two containers per game host:
#
#   start.sh volume   the volume container (not published, the only one with FUSE privileges):
#                     mount the Gluster volume, install the game on it once, copy the game into the
#                     shared Docker volume $COPY_ROOT and re-copy it whenever it changes on Gluster
#   start.sh serve    the game container (published, no FUSE privilege, the copy read-only): wait
#                     for the copy, write this container's client config, run the game server and
#                     serve the copy with nginx
#
#   one step only:    mount | install | sync | volume-health   (volume container)
#                     wait-copy | config                      (game container)
#
# The game lives on the shared GlusterFS volume, so every game host serves the same files; each
# host serves them from its own local copy, so the internet-facing process needs no mount(2).
set -eu

GAME_PORT=${GAME_PORT:-28785}
# The unprivileged user the Node game server runs as: the official node images create "node"
# (uid 1000; nodejs/docker-node 22/bookworm-slim/Dockerfile, groupadd/useradd).
GAME_USER=${GAME_USER:-node}
GAME_SOURCE=${GAME_SOURCE:-/opt/asteroids}
MOUNT_ROOT=${MOUNT_ROOT:-/mnt}
COPY_ROOT=${COPY_ROOT:-/srv/asteroids}
RUN_DIR=${RUN_DIR:-/run/asteroids}
MOUNT_ATTEMPTS=${MOUNT_ATTEMPTS:-60}
LOCK_ATTEMPTS=${LOCK_ATTEMPTS:-120}
COPY_ATTEMPTS=${COPY_ATTEMPTS:-120}
RETRY_SECONDS=${RETRY_SECONDS:-5}
SYNC_SECONDS=${SYNC_SECONDS:-30}
STALE_LOCK_MINUTES=${STALE_LOCK_MINUTES:-10}

# The copy in $COPY_ROOT: complete trees in releases/<fingerprint>, and the symbolic link current
# naming the one served. A tree is renamed into releases/ only once it is complete and verified,
# and current is switched with rename(2), which replaces the link atomically ("there is no point
# at which another process attempting to access newpath will find it missing", rename(2), Linux
# man-pages), so nginx and the game server never see a half-copied tree.
RELEASES="$COPY_ROOT/releases"
CURRENT="$COPY_ROOT/current"

log() {
    printf '%s asteroids[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$*" >&2
}

require_volume_env() {
    : "${GLUSTER_VOLUME:?GLUSTER_VOLUME is required (the Gluster volume name)}"
    : "${GLUSTER_MOUNT_SOURCE:?GLUSTER_MOUNT_SOURCE is required (server:/volume)}"
    : "${GLUSTER_MOUNT_OPTIONS:?GLUSTER_MOUNT_OPTIONS is required (backup-volfile-servers=...)}"
    MOUNT_POINT="$MOUNT_ROOT/$GLUSTER_VOLUME"
    GAME_DIR="$MOUNT_POINT/asteroids"
    MARKER="$GAME_DIR/.installed"
    LOCK="$MOUNT_POINT/.asteroids-install.lock"
}

require_serve_env() {
    : "${PUBLIC_HOST:?PUBLIC_HOST is required (the address players connect to)}"
    : "${PUBLIC_PORT:?PUBLIC_PORT is required (the port players connect to)}"
}

# --------------------------------------------------------------------------- volume container

# Mount the volume through any live server: the primary in GLUSTER_MOUNT_SOURCE, or one of the
# backup-volfile-servers in GLUSTER_MOUNT_OPTIONS. Bounded retries; the restart policy retries more.
mount_volume() {
    mkdir -p "$MOUNT_POINT"
    if mountpoint -q "$MOUNT_POINT"; then
        return 0
    fi
    n=0
    until mount -t glusterfs -o "$GLUSTER_MOUNT_OPTIONS" "$GLUSTER_MOUNT_SOURCE" "$MOUNT_POINT"; do
        n=$((n + 1))
        if [ "$n" -ge "$MOUNT_ATTEMPTS" ]; then
            log "could not mount $GLUSTER_MOUNT_SOURCE ($GLUSTER_MOUNT_OPTIONS) after $n attempts"
            exit 1
        fi
        log "mount of $GLUSTER_MOUNT_SOURCE failed; retrying in ${RETRY_SECONDS}s"
        sleep "$RETRY_SECONDS"
    done
    log "mounted $GLUSTER_MOUNT_SOURCE on $MOUNT_POINT"
}

# Copy the game (fetched and patched for current Node when the image was built) onto the volume,
# once for all game hosts: mkdir is atomic on GlusterFS, so the lock directory lets exactly one
# container copy while the others wait for the marker. A lock older than STALE_LOCK_MINUTES is
# left over from a container that died while copying and is broken.
install_game() {
    if [ -f "$MARKER" ]; then
        return 0
    fi
    n=0
    until mkdir "$LOCK" 2>/dev/null; do
        if [ -f "$MARKER" ]; then
            return 0
        fi
        if [ -n "$(find "$LOCK" -maxdepth 0 -mmin "+$STALE_LOCK_MINUTES" 2>/dev/null)" ]; then
            log "breaking a stale install lock"
            rm -rf "$LOCK"
            continue
        fi
        n=$((n + 1))
        if [ "$n" -ge "$LOCK_ATTEMPTS" ]; then
            log "another container holds $LOCK for too long"
            exit 1
        fi
        sleep "$RETRY_SECONDS"
    done
    if [ ! -f "$MARKER" ]; then
        log "installing the game on the volume"
        staging="$MOUNT_POINT/.asteroids-staging.$(uname -n).$$"
        rm -rf "$staging"
        cp -R "$GAME_SOURCE" "$staging"
        if [ -e "$GAME_DIR" ]; then
            # A copy without a marker is a partial one: keep it aside, never delete data.
            mv "$GAME_DIR" "$GAME_DIR.incomplete.$(date -u +%Y%m%dT%H%M%SZ)"
        fi
        mv "$staging" "$GAME_DIR"
        date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
    fi
    rmdir "$LOCK"
}

# A fingerprint of the files under $1 (their paths and contents, CRC and size by cksum), printed
# as CRC-SIZE. Fails, printing nothing, when the tree cannot be read completely (a Gluster volume
# that is unreachable) or holds no file: find exits non-zero when an invocation of cksum does.
fingerprint() {
    list=$(cd "$1" && find . -type f -exec cksum {} +) || return 1
    [ -n "$list" ] || return 1
    printf '%s\n' "$list" | LC_ALL=C sort | cksum | tr ' ' '-'
}

# The release current names, or nothing.
current_release() {
    target=$(readlink "$CURRENT" 2>/dev/null) || return 0
    printf '%s\n' "${target#releases/}"
}

# Bring the copy in line with the game on the Gluster volume: nothing to do when the fingerprints
# agree; otherwise copy to a staging directory, check the staged tree has the fingerprint the
# volume had before the copy (a copy raced by a change is dropped and retried next round), rename
# it into releases/ and switch current to it. Every failure returns non-zero and leaves current as
# it was; the previous release is kept for requests and a game server still using it.
sync_copy() {
    [ -f "$MARKER" ] || return 1
    want=$(fingerprint "$GAME_DIR") || return 1
    previous=$(current_release)
    if [ "$previous" = "$want" ]; then
        return 0
    fi
    mkdir -p "$RELEASES" || return 1
    if [ ! -d "$RELEASES/$want" ]; then
        staging="$RELEASES/.staging.$$"
        rm -rf "$staging" || return 1
        if ! cp -R "$GAME_DIR" "$staging"; then
            rm -rf "$staging"
            return 1
        fi
        got=$(fingerprint "$staging") || got=""
        if [ "$got" != "$want" ] || [ ! -f "$staging/server/server.js" ]; then
            log "the game changed on the volume while it was copied; copying again next round"
            rm -rf "$staging"
            return 1
        fi
        mv "$staging" "$RELEASES/$want" || return 1
    fi
    # mv -T (GNU coreutils: --no-target-directory) renames the new link over current instead of
    # moving it into the directory current points to.
    rm -f "$COPY_ROOT/.current.$$"
    ln -s "releases/$want" "$COPY_ROOT/.current.$$" || return 1
    mv -T "$COPY_ROOT/.current.$$" "$CURRENT" || return 1
    log "serving the game copy $want (was: ${previous:-none})"
    for dir in "$RELEASES"/*; do
        [ -d "$dir" ] || continue
        case "${dir##*/}" in
            "$want" | "$previous") ;;
            *) rm -rf "$dir" ;;
        esac
    done
}

# Keep the copy in sync for as long as the container runs. A failed round keeps the last good
# copy in service: the game stays up while the Gluster volume is unreachable.
keep_copy_in_sync() {
    rm -rf "$RELEASES"/.staging.* "$COPY_ROOT"/.current.*
    while :; do
        sync_copy || log "could not refresh the game copy from $GAME_DIR; serving the last one"
        sleep "$SYNC_SECONDS"
    done
}

# Healthy while the volume is mounted and readable and a copy is in service.
volume_health() {
    mountpoint -q "$MOUNT_POINT" && [ -f "$MARKER" ] && [ -f "$CURRENT/server/server.js" ]
}

# --------------------------------------------------------------------------- game container

# Wait (bounded) until the volume container has put a complete copy in service.
wait_for_copy() {
    n=0
    until [ -f "$CURRENT/server/server.js" ] && [ -d "$CURRENT/client" ]; do
        n=$((n + 1))
        if [ "$n" -ge "$COPY_ATTEMPTS" ]; then
            log "no game copy in $COPY_ROOT after $n attempts"
            exit 1
        fi
        log "waiting for the game copy in $COPY_ROOT"
        sleep "$RETRY_SECONDS"
    done
}

# This container's client configuration (served as /config.js by nginx): players connect back
# to this host's public address and port. RUN_DIR is the container's own writable directory.
write_config() {
    case "$PUBLIC_HOST" in
        "" | *[!A-Za-z0-9.-]*)
            log "PUBLIC_HOST must be a host name or IPv4 address, got '$PUBLIC_HOST'"
            exit 1
            ;;
    esac
    case "$PUBLIC_PORT" in
        "" | *[!0-9]*)
            log "PUBLIC_PORT must be a number, got '$PUBLIC_PORT'"
            exit 1
            ;;
    esac
    mkdir -p "$RUN_DIR"
    printf "var HOST = '%s', PORT = %s;\n" "$PUBLIC_HOST" "$PUBLIC_PORT" >"$RUN_DIR/config.js.tmp"
    mv "$RUN_DIR/config.js.tmp" "$RUN_DIR/config.js"
}

# The game server runs from the release current names when it starts, and is started again when
# it exits or when the volume container has put another release in service. It runs as
# GAME_USER (and its primary group), not root: setpriv (util-linux, essential in Debian) switches
# user and groups, which the container's SETUID/SETGID allow, and a non-root process keeps no
# capability.
run_game_server() {
    while :; do
        release=$(current_release)
        setpriv --reuid="$GAME_USER" --regid="$(id -g "$GAME_USER")" --init-groups \
            node "$RELEASES/$release/server/server.js" "$GAME_PORT" &
        pid=$!
        while kill -0 "$pid" 2>/dev/null; do
            sleep "$RETRY_SECONDS"
            if [ "$(current_release)" != "$release" ]; then
                log "a new game copy is in service; restarting the game server"
                kill "$pid" 2>/dev/null || true
            fi
        done
        status=0
        wait "$pid" || status=$?
        log "game server exited with status $status"
        sleep 2
    done
}

case "${1:-}" in
    volume)
        require_volume_env
        mount_volume
        install_game
        keep_copy_in_sync
        ;;
    serve)
        require_serve_env
        wait_for_copy
        write_config
        run_game_server &
        nginx -t -q
        exec nginx -g 'daemon off;'
        ;;
    mount) require_volume_env; mount_volume ;;
    install) require_volume_env; install_game ;;
    sync) require_volume_env; sync_copy ;;
    volume-health) require_volume_env; volume_health ;;
    wait-copy) wait_for_copy ;;
    config) require_serve_env; write_config ;;
    *)
        log "usage: start.sh volume|serve|mount|install|sync|volume-health|wait-copy|config"
        exit 2
        ;;
esac
