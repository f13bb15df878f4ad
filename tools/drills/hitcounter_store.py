"""The hit counter with an in-process counter store: the gunicorn entry point of the lb drill.

    gunicorn -c apps/hitcounter/gunicorn.conf.py 'tools.drills.hitcounter_store:create_app()'

What this replaces, and only this: the ``MongoClient`` collection the app builds from
``MONGO_URL``. Debian ships no ``mongod`` and no MongoDB server installs from PyPI without
downloading binaries from elsewhere, so each worker counts in a ``mongomock`` collection instead
(pinned in requirements-dev.txt; the app's own tests use it the same way). Everything the drill
measures is untouched: the requests go through HAProxy to real gunicorn processes started with the
app's own ``gunicorn.conf.py`` (sync workers, ``WEB_CONCURRENCY``), and the real Flask app from
``hitcounter.app.create_app`` answers them, ``/healthcheck`` included (which never touches the
database). The counter itself is per worker, so the drill reads no count; it measures statuses
and latencies.

The drill's "database unreachable from this instance" failure: while the file named by
``DRILL_DB_DOWN_FILE`` exists, the store behaves as pymongo does when no server can be selected:
it blocks for the app's own ``serverSelectionTimeoutMS`` and raises
``ServerSelectionTimeoutError``; the app turns that into its real 503.
"""

from __future__ import annotations

import os
import time
from typing import Any, Optional

import mongomock
from flask import Flask
from hitcounter.app import CLIENT_DEFAULTS, DEFAULT_COLLECTION, DEFAULT_DB
from hitcounter.app import create_app as app_factory
from pymongo.errors import ServerSelectionTimeoutError

DOWN_FILE_ENV = "DRILL_DB_DOWN_FILE"


class DrillStore:
    """A mongomock collection that can be made unreachable, as seen from one instance."""

    def __init__(self, collection: Any, down_file: Optional[str]) -> None:
        self._collection = collection
        self._down_file = down_file

    def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any:
        if self._down_file and os.path.exists(self._down_file):
            time.sleep(CLIENT_DEFAULTS["serverSelectionTimeoutMS"] / 1000)
            raise ServerSelectionTimeoutError("drill: no MongoDB server reachable from this instance")
        return self._collection.find_one_and_update(*args, **kwargs)


def create_app() -> Flask:
    collection: Any = mongomock.MongoClient()[DEFAULT_DB][DEFAULT_COLLECTION]
    return app_factory(DrillStore(collection, os.environ.get(DOWN_FILE_ENV) or None))
