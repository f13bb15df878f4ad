"""rancher-stacks: reusable Pulumi components for RancherOS-family hosts and the workloads they run.

Installed and imported as ``rancher_stacks``. The folders follow the data flow, and a lower
layer never imports a higher one::

    naming, net, config  <-  clouds  <-  hosts  <-  workloads, kubernetes, placement  <-  systems

* ``net``: the provider-neutral firewall rule model and the one port catalog.
* ``config``: the typed stack configuration (pydantic); errors name the stack config key.
* ``clouds``: one folder per cloud (provider, image, host, firewall rendering, data volume) behind
  the protocols of ``clouds.base``; ``clouds.registry`` is the only module naming every cloud.
* ``hosts``: host groups, their firewall and data volumes, and ``DockerHost`` handles.
* ``workloads``: one folder per technology, each a component and its pure renderers.
* ``systems``: one module per deployed system and the registry ``__main__.py`` loops over.

Every component registers with the type token ``rancher-stacks:index:<ClassName>`` and passes
its meaningful settings (cloud, counts, sizes) as props so that the policy pack can see them.
This module imports no Pulumi, so the pure renderers can be used without it.
"""

from .naming import PACKAGE, type_token

__all__ = ["PACKAGE", "type_token"]
