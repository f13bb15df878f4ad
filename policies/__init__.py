"""CrossGuard policy pack for rancher-stacks.

The rules live in importable modules (:mod:`.ports`, :mod:`.security`, :mod:`.containers`,
:mod:`.replicas`) because
``pulumi_policy.PolicyPack(...)`` serves forever once constructed; ``__main__.py`` only builds the
pack from :data:`ALL_POLICIES`. :func:`evaluate` runs those same policy objects offline.
"""

from .offline import evaluate
from .pack import ALL_POLICIES, PACK_ENFORCEMENT_LEVEL, PACK_NAME
from .ports import exposes_to_world, opens_all_ports_to_world, world_exposures

__all__ = [
    "ALL_POLICIES",
    "PACK_ENFORCEMENT_LEVEL",
    "PACK_NAME",
    "evaluate",
    "exposes_to_world",
    "opens_all_ports_to_world",
    "world_exposures",
]
