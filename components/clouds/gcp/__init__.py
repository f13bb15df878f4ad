"""Everything rancher-stacks needs on gcp: see the modules of this folder."""
