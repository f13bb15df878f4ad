"""Everything rancher-stacks needs on local: see the modules of this folder."""
