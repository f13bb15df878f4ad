"""Flask application factory for the hit counter.

Production entry point (see ``gunicorn.conf.py`` and the Dockerfile)::

    gunicorn -c gunicorn.conf.py "hitcounter.app:create_app()"

Gunicorn calls the factory once in every worker process *after* forking
(``preload_app`` stays off), so each worker owns exactly one ``MongoClient``.
The client is built with ``connect=False``: nothing touches the network until
the first counter update, and a worker can start while the database is down.

TLS: when ``MONGO_TLS_CA_FILE`` names a CA certificate (PEM), the client
verifies the servers' certificates against it (``tlsCAFile``); the connection
string turns TLS on (``tls=true``).
"""

from __future__ import annotations

import html
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Response
from pymongo import MongoClient, ReturnDocument
from pymongo.errors import ConfigurationError, PyMongoError

COUNTER_ID = "page_views"
DEFAULT_DB = "hitcounter"
DEFAULT_COLLECTION = "counters"
EXTENSION_KEY = "hitcounter.collection"
TLS_CA_FILE_ENV = "MONGO_TLS_CA_FILE"

# Client defaults. Anything also given in MONGO_URL's query string (for
# example ``?serverSelectionTimeoutMS=2000``) wins over these, because pymongo
# would otherwise let keyword arguments override the URL.
CLIENT_DEFAULTS: dict[str, Any] = {
    # Fail a request after 5 s instead of pymongo's 30 s default, well inside
    # gunicorn's 30 s worker timeout, so an outage gives a quick 503.
    "serverSelectionTimeoutMS": 5_000,
    "connectTimeoutMS": 5_000,
    "socketTimeoutMS": 10_000,
    # One automatic retry of the upsert across a replica-set failover.
    "retryWrites": True,
    "appname": "hitcounter",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hit counter</title>
</head>
<body>
<h1>Hit counter</h1>
<p>This page has been viewed <strong id="count">{count}</strong> times.</p>
<p>Served by container <code id="hostname">{hostname}</code>.</p>
</body>
</html>
"""

_UNAVAILABLE = "Service unavailable: the page-view counter could not be updated.\n"


class ConfigError(RuntimeError):
    """Required configuration is missing or invalid (raised at startup)."""


@dataclass(frozen=True)
class Settings:
    """Configuration read from the environment."""

    mongo_url: str
    mongo_db: str = DEFAULT_DB
    mongo_collection: str = DEFAULT_COLLECTION
    # CA certificate (PEM file) to verify the servers' TLS certificates with.
    tls_ca_file: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = env.get("MONGO_URL", "").strip()
        if not url:
            raise ConfigError(
                "MONGO_URL is not set. Set it to the MongoDB replica-set "
                "connection string, e.g. mongodb://user:password@h1:27017,"
                "h2:27017,h3:27017/?replicaSet=rs0&authSource=admin"
            )
        tls_ca_file = env.get(TLS_CA_FILE_ENV, "").strip() or None
        if tls_ca_file is not None and not os.path.isfile(tls_ca_file):
            raise ConfigError(
                f"{TLS_CA_FILE_ENV} is {tls_ca_file!r}, which is not a file. Set it "
                "to the MongoDB CA certificate (PEM), or unset it."
            )
        return cls(
            mongo_url=url,
            mongo_db=env.get("MONGO_DB", "").strip() or DEFAULT_DB,
            mongo_collection=env.get("MONGO_COLLECTION", "").strip()
            or DEFAULT_COLLECTION,
            tls_ca_file=tls_ca_file,
        )


def _url_option_names(url: str) -> set[str]:
    """Lower-cased names of the options in a MongoDB URL's query string."""
    query = url.partition("?")[2].replace(";", "&")
    return {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}


def client_options(url: str) -> dict[str, Any]:
    """CLIENT_DEFAULTS minus the options that the URL sets itself."""
    in_url = _url_option_names(url)
    return {k: v for k, v in CLIENT_DEFAULTS.items() if k.lower() not in in_url}


def client_kwargs(url: str, tls_ca_file: str | None = None) -> dict[str, Any]:
    """The MongoClient keyword arguments: client_options(url), plus ``tlsCAFile``
    when a CA file is configured (it wins over a ``tlsCAFile`` in the URL)."""
    kwargs = client_options(url)
    if tls_ca_file:
        kwargs["tlsCAFile"] = tls_ca_file
    return kwargs


def collection_from_settings(settings: Settings) -> Any:
    """Build the (not yet connected) MongoClient and return the collection."""
    kwargs = client_kwargs(settings.mongo_url, settings.tls_ca_file)
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(
            settings.mongo_url, connect=False, **kwargs
        )
    except ConfigurationError as exc:  # includes InvalidURI
        # The URL holds a password: never echo it back, only pymongo's reason.
        raise ConfigError(f"MONGO_URL is not a usable MongoDB URL: {exc}") from None
    except OSError as exc:  # ssl.SSLError included: the CA file is loaded right here
        raise ConfigError(
            f"{TLS_CA_FILE_ENV}={settings.tls_ca_file} is not a usable CA "
            f"certificate file: {exc}"
        ) from None
    return client[settings.mongo_db][settings.mongo_collection]


def create_app(collection: Any = None) -> Flask:
    """Create the Flask app.

    ``collection`` is anything with pymongo's ``find_one_and_update`` (tests
    pass a mongomock collection). When it is omitted, the configuration is
    read from the environment and a ConfigError is raised straight away if
    MONGO_URL is missing, so a misconfigured container fails at startup.
    """
    if collection is None:
        collection = collection_from_settings(Settings.from_env())

    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = collection

    @app.get("/")
    def index() -> Response:
        try:
            doc = collection.find_one_and_update(
                {"_id": COUNTER_ID},
                {"$inc": {"count": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            count = int(doc["count"])
        except PyMongoError as exc:
            # One line per failure (no traceback): during an outage every
            # request fails the same way. pymongo's messages name hosts only.
            app.logger.error(
                "could not update the page-view counter: %s: %s",
                type(exc).__name__,
                exc,
            )
            return Response(_UNAVAILABLE, status=503, mimetype="text/plain")
        body = _PAGE.format(
            count=html.escape(str(count)),
            hostname=html.escape(socket.gethostname()),
        )
        resp = Response(body, mimetype="text/html")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        # Deliberately does NOT touch MongoDB. The load balancer polls this
        # every 2 s from every instance; a database round-trip here would turn
        # one database outage into "every web container is unhealthy" (all
        # pulled from rotation at once) and add steady load to the replica
        # set. It answers "is this process serving HTTP?"; database trouble
        # shows up as 503s on "/" instead.
        return Response(f"OK From {socket.gethostname()}", mimetype="text/plain")

    @app.after_request
    def no_sniff(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    return app
