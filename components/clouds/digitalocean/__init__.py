"""Everything rancher-stacks needs on digitalocean: see the modules of this folder."""
