#!/bin/sh
# Entrypoint of an Asteroids game container (runs under tini).
#
#   start.sh [run]   mount the Gluster volume, install the game on it once, write this
#                    container's client config, run the game server and serve it with nginx
#   start.sh mount | install | config   one step only
#
# The game lives on the shared GlusterFS volume, so every game container serves the same files
# and the game keeps being served while any one Gluster server is down.
set -eu

: "${GLUSTER_VOLUME:?GLUSTER_VOLUME is required (the Gluster volume name)}"
: "${GLUSTER_MOUNT_SOURCE:?GLUSTER_MOUNT_SOURCE is required (server:/volume)}"
: "${GLUSTER_MOUNT_OPTIONS:?GLUSTER_MOUNT_OPTIONS is required (backup-volfile-servers=...)}"
: "${PUBLIC_HOST:?PUBLIC_HOST is required (the address players connect to)}"
: "${PUBLIC_PORT:?PUBLIC_PORT is required (the port players connect to)}"
GAME_PORT=${GAME_PORT:-28785}
GAME_SOURCE=${GAME_SOURCE:-/opt/asteroids}
MOUNT_ROOT=${MOUNT_ROOT:-/mnt}
RUN_DIR=${RUN_DIR:-/run/asteroids}
MOUNT_ATTEMPTS=${MOUNT_ATTEMPTS:-60}
LOCK_ATTEMPTS=${LOCK_ATTEMPTS:-120}
RETRY_SECONDS=${RETRY_SECONDS:-5}
STALE_LOCK_MINUTES=${STALE_LOCK_MINUTES:-10}

MOUNT_POINT="$MOUNT_ROOT/$GLUSTER_VOLUME"
GAME_DIR="$MOUNT_POINT/asteroids"
MARKER="$GAME_DIR/.installed"
LOCK="$MOUNT_POINT/.asteroids-install.lock"

log() {
    printf '%s asteroids[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$*" >&2
}

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
# once for all game containers: mkdir is atomic on GlusterFS, so the lock directory lets exactly one
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

# This container's client configuration (served as /config.js by nginx): players connect back
# to this host's public address and port.
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

# The game server runs from the volume; when it exits (or cannot start while the volume is
# unreachable) it is started again.
run_game_server() {
    while :; do
        node "$GAME_DIR/server/server.js" "$GAME_PORT" || log "game server exited with status $?"
        sleep 2
    done
}

case "${1:-run}" in
    mount) mount_volume ;;
    install) install_game ;;
    config) write_config ;;
    run)
        mount_volume
        install_game
        write_config
        run_game_server &
        nginx -t -q
        exec nginx -g 'daemon off;'
        ;;
    *)
        log "usage: start.sh [run|mount|install|config]"
        exit 2
        ;;
esac
