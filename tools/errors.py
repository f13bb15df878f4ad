"""Errors the offline tools report as one line with exit code 2 (never a traceback)."""


class GraphError(Exception):
    """The graph cannot be written (unknown format, no Graphviz for SVG)."""
