"""The clouds: shared protocols and types (``base``), one folder per cloud, and ``registry``.

Only ``registry`` names every cloud, and it imports each cloud's folder (and so its provider
SDK, an optional extra) only when the stack uses that cloud. This package's ``__init__`` and
``disk`` import no Pulumi.
"""
