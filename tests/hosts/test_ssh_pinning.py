"""Host-key pinning with the real OpenSSH tools: a real sshd on loopback, the real ssh-keyscan, and
the real ssh client given exactly the docker provider's options. sshd runs as the user running the
tests (as OpenSSH's own regression tests do) and admits that user with a throwaway key.

Needs openssh-server and openssh-client (skips naming them when absent; CI installs them).
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from rancher_stacks.hosts.render_ssh import docker_ssh_opts, known_hosts_line, parse_host_key, render_keyscan
from rancher_stacks.hosts.ssh_files import HOME_ENV, ssh_path, write_private


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sshd:
    def __init__(self, root: Path, port: int, host_key: Path, client_pub: Path) -> None:
        self.root, self.port, self.host_key, self.client_pub = root, port, host_key, client_pub


@pytest.fixture(scope="module")
def sshd(validator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    daemon = validator("sshd", "openssh-server")
    keygen = validator("ssh-keygen", "openssh-client")
    root = tmp_path_factory.mktemp("sshd")
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(root / "host_ed25519")], check=True)
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(root / "client")], check=True)
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    (root / "authorized_keys").chmod(0o600)
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_ed25519\n"
        f"AuthorizedKeysFile {root}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"PidFile {root}/sshd.pid\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # root's sshd wants its privilege separation dir
    proc = subprocess.Popen([daemon, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"sshd did not listen: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield Sshd(root, port, root / "host_ed25519.pub", root / "client.pub")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_keyscan_script_reads_the_hosts_real_key(sshd: Sshd, validator) -> None:
    validator("ssh-keyscan", "openssh-client")
    out = subprocess.run(["/bin/sh", "-c", render_keyscan("127.0.0.1", port=sshd.port, attempts=3, interval=1)],
                         capture_output=True, text=True, timeout=60, check=True)
    expected = " ".join(sshd.host_key.read_text().split()[:2])
    assert parse_host_key(out.stdout) == expected


def ssh_with_provider_options(sshd: Sshd, home: Path, host_key: str) -> subprocess.CompletedProcess[str]:
    """``ssh`` with the docker provider's options, as the provider runs it (home redirected)."""
    known = write_private(ssh_path("p", "s", "known_hosts", "h0"), known_hosts_line("127.0.0.1", host_key, sshd.port))
    identity = write_private(ssh_path("p", "s", "id"), (sshd.root / "client").read_text())
    # ssh expands "~" from the passwd entry, not $HOME: point the two paths at the test's home.
    opts = [o.replace("~", str(home), 1) for o in docker_ssh_opts(known, identity)]
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null", *opts,
         "-l", getpass.getuser(), "-p", str(sshd.port), "--", "127.0.0.1", "echo", "reached"],
        capture_output=True, text=True, timeout=30,
    )


def test_the_pinned_key_lets_the_provider_in_and_a_different_key_does_not(
    sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validator
) -> None:
    validator("ssh", "openssh-client")
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    real = " ".join(sshd.host_key.read_text().split()[:2])
    ok = ssh_with_provider_options(sshd, tmp_path, real)
    assert ok.returncode == 0 and ok.stdout.strip() == "reached", ok.stderr
    assert oct((tmp_path / ".rancher-stacks/p/s/id").stat().st_mode & 0o777) == "0o600"

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "impostor")], check=True)
    impostor = " ".join((tmp_path / "impostor.pub").read_text().split()[:2])
    refused = ssh_with_provider_options(sshd, tmp_path, impostor)
    assert refused.returncode != 0 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in refused.stderr


def test_keyscan_gives_up_after_its_budget(validator) -> None:
    validator("ssh-keyscan", "openssh-client")
    port = free_port()  # nothing listens there
    out = subprocess.run(["/bin/sh", "-c", render_keyscan("127.0.0.1", port=port, attempts=2, interval=0)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no SSH host key from 127.0.0.1 within 0 s" in out.stderr


def test_scan_output_parsing_and_known_hosts_lines() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoxUQlDyiffLLu/+UM15M3cGKfuMdznlM7IOGA+WOw1"
    assert parse_host_key(f"# 198.51.100.4:22 SSH-2.0-OpenSSH_9.2\n198.51.100.4 {key}\n") == key
    with pytest.raises(ValueError, match="no ssh-ed25519 host key"):
        parse_host_key("198.51.100.4 ssh-rsa AAAAB3Nza\n")
    assert known_hosts_line("198.51.100.4", key) == f"198.51.100.4 {key}\n"
    assert known_hosts_line("2001:db8::4", key, 2222) == f"[2001:db8::4]:2222 {key}\n"
    with pytest.raises(ValueError):
        render_keyscan("host; reboot")


def test_the_scripts_pass_shellcheck(validator, tmp_path: Path) -> None:
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / "scan.sh"
    path.write_text("#!/bin/sh\n" + render_keyscan("198.51.100.4") + "\n")
    result = subprocess.run([shellcheck, "-s", "sh", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_a_remote_docker_host_pins_the_scanned_key_for_both_ssh_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pulumi-command gets the key as hostKey, the docker provider a known_hosts file with it and
    StrictHostKeyChecking=yes; the stack's private key reaches the provider as a 0600 file."""
    import pulumi

    from rancher_stacks.hosts.dockerhost import DockerHost, DockerHostArgs, FailureDomain, SshSettings
    from tools.mockengine import run_program

    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n"
    seen: dict = {}

    def program() -> None:
        host = DockerHost(
            "h0",
            DockerHostArgs(
                domain=FailureDomain("aws", "us-east-1", "us-east-1a"),
                public_address="198.51.100.7",
                private_address="10.0.0.7",
                ssh=SshSettings(private_key=pulumi.Output.secret(private_key)),
                host_identity=["i-0abc"],
            ),
        )
        assert host.connection is not None and host.ssh_opts is not None
        seen["limits"] = (host.connection.dial_error_limit, host.connection.per_dial_timeout)
        pulumi.Output.all(host.connection.host_key, host.ssh_opts).apply(
            lambda values: seen.update(key=values[0], opts=values[1])
        )

    result = run_program(program, project="p", stack="s")
    (scan,) = result.by_type("command:local:Command")
    assert scan.inputs["triggers"] == ["198.51.100.7", "i-0abc"]  # a new machine is scanned again
    assert seen["key"].startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
    assert seen["limits"] == (200, 10)
    assert seen["opts"] == [
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=~/.rancher-stacks/p/s/known_hosts/h0",
        "-o", "ServerAliveInterval=15",
        "-i", "~/.rancher-stacks/p/s/id", "-o", "IdentitiesOnly=yes",
    ]  # fmt: skip
    known = tmp_path / ".rancher-stacks/p/s/known_hosts/h0"
    assert known.read_text() == f"198.51.100.7 {seen['key']}\n"
    identity = tmp_path / ".rancher-stacks/p/s/id"
    assert identity.read_text() == private_key and identity.stat().st_mode & 0o777 == 0o600
    (provider,) = result.by_type("pulumi:providers:docker")
    assert private_key not in str(provider.inputs) and "accept-new" not in str(provider.inputs)
