"""Docker host handles for workload tests: on the local daemon, or "remote" over SSH."""

from __future__ import annotations

from typing import Callable, Optional

from rancher_stacks.hosts.dockerhost import DockerHost, DockerHostArgs, FailureDomain, SshSettings


def local_hosts(count: int) -> list[DockerHost]:
    """``count`` handles on the local daemon, named h0, h1, ..."""
    return [
        DockerHost(
            f"h{i}",
            DockerHostArgs(
                domain=FailureDomain("local", "local", f"host-{i}"),
                public_address="127.0.0.1",
                private_address="127.0.0.1",
            ),
        )
        for i in range(count)
    ]


def remote_hosts(
    count: int,
    prefix: str,
    domain: Callable[[int], FailureDomain],
    public: Callable[[int], str],
    private: Callable[[int], str],
    data_dir: Optional[Callable[[int], str]] = None,
) -> list[DockerHost]:
    """``count`` SSH-reached handles ``<prefix>0..``, their domains and addresses by index."""
    return [
        DockerHost(
            f"{prefix}{i}",
            DockerHostArgs(
                domain=domain(i),
                public_address=public(i),
                private_address=private(i),
                ssh=SshSettings(),
                **({"data_dir": data_dir(i)} if data_dir else {}),
            ),
        )
        for i in range(count)
    ]
