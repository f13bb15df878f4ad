"""Gunicorn settings for the hit counter (``gunicorn -c gunicorn.conf.py``)."""

import os
import sys


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        sys.exit(f"hitcounter: {name} must be an integer, got {raw!r}")
    if value < 1:
        sys.exit(f"hitcounter: {name} must be at least 1, got {value}")
    return value


# Like the shell's ${PORT:-5000}: unset or empty means 5000.
bind = f"0.0.0.0:{_int_env('PORT', 5000)}"
workers = _int_env("WEB_CONCURRENCY", 2)

# Access log and error log to stdout/stderr for `docker logs`.
accesslog = "-"
errorlog = "-"

# Build the app (and its MongoClient) in each worker after the fork:
# pymongo clients must not be shared across fork().
preload_app = False

# Runtime-control socket (gunicorn >= 25.1) is not used in the container and
# would need a writable $HOME for the unprivileged user.
control_socket_disable = True

# Heartbeat files on tmpfs rather than the container's overlay filesystem.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def on_starting(server):
    """Fail once, in the master, with a one-line message if MONGO_URL is missing.

    Without this every worker would die at boot with a ConfigError traceback.
    """
    from hitcounter.app import ConfigError, Settings

    try:
        Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"hitcounter: {exc}")
