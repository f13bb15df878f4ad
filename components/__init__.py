"""rancher-stacks: reusable Pulumi components for RancherOS hosts and the workloads they run.

Every component registers with the type token ``rancher-stacks:index:<ClassName>`` and passes
its meaningful settings (cloud, counts, sizes) as props so that the policy pack can see them.
"""

PACKAGE = "rancher-stacks"


def type_token(class_name: str) -> str:
    """The component type token for ``class_name``: ``rancher-stacks:index:<ClassName>``."""
    return f"{PACKAGE}:index:{class_name}"
