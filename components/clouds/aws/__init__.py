"""Everything rancher-stacks needs on aws: see the modules of this folder."""
