"""workloads.logging: tiers, heaps sized from the host, shipping, each mistake naming its key."""

from __future__ import annotations

import pytest

from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.host_memory import HOST_MEMORY_MB

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoxUQlDyiffLLu/+UM15M3cGKfuMdznlM7IOGA+WOw1 me@host"


def stack(logging: dict | None = None, **extra) -> dict:
    raw = {
        "sshPublicKey": KEY,
        "adminCidrs": ["203.0.113.0/24"],
        "clouds": {"aws": {"amiId": "ami-0b0a5e5e1e5b0a5e5", "instanceType": "t3.small"}},
        "workloads": {"logging": logging} if logging is not None else {"storage": {"cloud": "aws"}},
        **extra,
    }
    return raw


def error(raw: dict) -> str:
    with pytest.raises(ConfigError) as err:
        parse_stack_config(raw)
    return str(err.value)


def test_defaults_give_three_masters_two_collectors_two_indexers_and_heaps_from_the_host():
    cfg = parse_stack_config(stack({"cloud": "aws", "size": "t3.medium"}))
    logging = cfg.workloads.logging
    assert logging.elasticsearch.masters.count == 3 and logging.elasticsearch.data.count == 0
    assert logging.collectors.count == 2 and logging.indexers.count == 2 and logging.kibana.count == 1
    # t3.medium has 4 GiB: half of it.
    assert cfg.heap_mb(logging.elasticsearch.masters) == 2048
    assert cfg.ships_logs()


@pytest.mark.parametrize("count", [1, 2, 4])
def test_an_even_or_single_master_count_names_the_key(count):
    message = error(stack({"cloud": "aws", "elasticsearch": {"masters": {"count": count}}}))
    assert message.startswith("rancher-stacks:workloads.logging.elasticsearch.masters.count: expected an odd number")
    assert f"got {count}" in message


@pytest.mark.parametrize("tier", ["collectors", "indexers"])
def test_a_single_collector_or_indexer_is_refused(tier):
    message = error(stack({"cloud": "aws", tier: {"count": 1}}))
    assert message.startswith(f"rancher-stacks:workloads.logging.{tier}.count: expected at least 2")


def test_a_heap_bigger_than_half_the_host_names_the_key_and_the_limit():
    message = error(stack({"cloud": "aws", "elasticsearch": {"masters": {"size": "t3.small", "heapMb": 4096}}}))
    assert message.startswith(
        "rancher-stacks:workloads.logging.elasticsearch.masters.heapMb: expected a heap of at most 1024 MiB"
    )
    assert "t3.small" in message and "2048 MiB" in message


def test_a_logstash_heap_is_checked_against_its_own_tier_size():
    ok = parse_stack_config(stack({"cloud": "aws", "size": "t3.large", "indexers": {"heapMb": 4096}}))
    assert ok.heap_mb(ok.workloads.logging.indexers) == 4096
    message = error(stack({"cloud": "aws", "size": "t3.large", "indexers": {"size": "t3.small", "heapMb": 4096}}))
    assert message.startswith("rancher-stacks:workloads.logging.indexers.heapMb:")


def test_an_unknown_size_is_refused_with_the_known_ones():
    message = error(stack({"cloud": "aws", "size": "x9.huge"}))
    assert message.startswith("rancher-stacks:workloads.logging.size: expected a size on aws whose memory")
    assert "t3.medium" in message and "'x9.huge'" in message
    tier = error(stack({"cloud": "aws", "collectors": {"size": "x9.huge"}}))
    assert tier.startswith("rancher-stacks:workloads.logging.collectors.size:")


def test_the_cloud_default_size_is_used_and_checked():
    # clouds.aws.instanceType t3.small: 1 GiB heaps.
    cfg = parse_stack_config(stack({"cloud": "aws"}))
    assert cfg.heap_mb(cfg.workloads.logging.collectors) == 1024


def test_shipping_without_a_logging_system_names_the_key():
    message = error(stack(None, shipLogs=True))
    assert message.startswith("rancher-stacks:shipLogs: expected workloads.logging to ship to")
    assert not parse_stack_config(stack(None)).ships_logs()
    assert not parse_stack_config(stack({"cloud": "aws"}, shipLogs=False)).ships_logs()


def test_a_configured_certificate_needs_its_secret_key():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    logging = {"cloud": "aws", "nginx": {"tls": {"source": "config", "certificatePem": pem}}}
    assert error(stack(logging)).startswith("rancher-stacks:loggingTlsKey: expected the private key")
    assert parse_stack_config(stack(logging, loggingTlsKey="-----BEGIN PRIVATE KEY-----"))
    bad = {"cloud": "aws", "nginx": {"tls": {"source": "config", "certificatePem": "nope"}}}
    assert error(stack(bad)).startswith("rancher-stacks:workloads.logging.nginx.tls.certificatePem:")


def test_a_single_data_node_is_refused():
    message = error(stack({"cloud": "aws", "elasticsearch": {"data": {"count": 1}}}))
    assert message.startswith("rancher-stacks:workloads.logging.elasticsearch.data.count:")


def test_the_memory_table_lists_the_shipped_default_sizes():
    assert {"t3.small", "t3.medium", "t3.large"} <= set(HOST_MEMORY_MB["aws"])
    assert {"e2-small", "e2-medium", "e2-standard-2"} <= set(HOST_MEMORY_MB["gcp"])
    assert {"s-1vcpu-2gb", "s-2vcpu-4gb"} <= set(HOST_MEMORY_MB["digitalocean"])
