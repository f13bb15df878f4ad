"""rancher-stacks: read the stack config, deploy every system it enables, export the outputs.

Each system (``rancher_stacks/systems/``) declares its host groups and whom they admit by group
name; the registry builds all groups (in any order: peers are deferred outputs) and then the
systems' workloads. Bad config stops the program with one line naming the key before any
resource is registered.
"""

import pulumi

from rancher_stacks.clouds.base import SshSettings
from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.config import load_stack_config
from rancher_stacks.systems.registry import deploy_systems

cfg = load_stack_config()
bases = make_cloud_bases(cfg, SshSettings(private_key=pulumi.Config().get_secret("sshPrivateKey")))
for key, value in deploy_systems(cfg, bases).items():
    pulumi.export(key, value)
