"""Pure renderers of the files we generate (cloud-config, haproxy.cfg, nginx, scripts).

Each renderer is a function from plain values to text, with no Pulumi in it, so it can be
checked against the real validator (``haproxy -c``, ``nginx -t``, ``shellcheck``) in tests.
"""
