"""Hosts: groups of RancherOS-family machines (or the local daemon) as Docker hosts.

``HostGroup`` builds a group's firewall, data volumes and machines through its cloud base;
``DockerHost`` is the handle workloads deploy to; ``HostGroups`` builds groups declared by name
in any order, handing each firewall the peers it admits as deferred outputs.
"""
