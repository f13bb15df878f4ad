"""Systems: one module per deployed system (named by role), found by ``registry``.

``__main__.py`` calls :func:`registry.deploy_systems` and exports what it returns.
"""
