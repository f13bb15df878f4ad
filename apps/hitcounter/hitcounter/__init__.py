"""Hit counter: a tiny Flask app that counts page views in MongoDB."""

from hitcounter.app import ConfigError, Settings, create_app

__all__ = ["ConfigError", "Settings", "create_app"]
