"""How much memory each host size the stacks use has, per cloud (MiB).

Heaps are sized from the host (Elasticsearch and Logstash run a JVM each): the config derives
the default heap from this table and refuses a heap that does not fit. Only the sizes listed
here are accepted for JVM hosts; an unknown size is refused with the list, rather than guessed.
Add a size with its vendor's figure when a stack needs it.

Sources (the vendors' published memory per size, GiB x 1024):

* AWS: https://aws.amazon.com/ec2/instance-types/t3/ (t3.micro 1 GiB ... t3.2xlarge 32 GiB),
  https://aws.amazon.com/ec2/instance-types/m5/ (m5.large 8 GiB, m5.xlarge 16, m5.2xlarge 32),
  https://aws.amazon.com/ec2/instance-types/r5/ (r5.large 16 GiB, r5.xlarge 32).
* GCP: https://cloud.google.com/compute/docs/general-purpose-machines#e2_machine_types
  (e2-small 2 GB, e2-medium 4 GB, e2-standard-N 4 GB per vCPU, e2-highmem-N 8 GB per vCPU).
* DigitalOcean: https://docs.digitalocean.com/products/droplets/details/pricing/ (the slug
  names the memory: s-1vcpu-2gb is 2 GiB; c-2 has 4 GiB, c-4 8 GiB; g-2vcpu-8gb 8 GiB;
  m-2vcpu-16gb 16 GiB).
"""

from __future__ import annotations

from typing import Optional

GIB = 1024

HOST_MEMORY_MB: dict[str, dict[str, int]] = {
    "aws": {
        "t3.micro": 1 * GIB,
        "t3.small": 2 * GIB,
        "t3.medium": 4 * GIB,
        "t3.large": 8 * GIB,
        "t3.xlarge": 16 * GIB,
        "t3.2xlarge": 32 * GIB,
        "m5.large": 8 * GIB,
        "m5.xlarge": 16 * GIB,
        "m5.2xlarge": 32 * GIB,
        "r5.large": 16 * GIB,
        "r5.xlarge": 32 * GIB,
    },
    "gcp": {
        "e2-small": 2 * GIB,
        "e2-medium": 4 * GIB,
        "e2-standard-2": 8 * GIB,
        "e2-standard-4": 16 * GIB,
        "e2-standard-8": 32 * GIB,
        "e2-highmem-2": 16 * GIB,
        "e2-highmem-4": 32 * GIB,
    },
    "digitalocean": {
        "s-1vcpu-2gb": 2 * GIB,
        "s-2vcpu-2gb": 2 * GIB,
        "s-2vcpu-4gb": 4 * GIB,
        "s-4vcpu-8gb": 8 * GIB,
        "s-8vcpu-16gb": 16 * GIB,
        "c-2": 4 * GIB,
        "c-4": 8 * GIB,
        "g-2vcpu-8gb": 8 * GIB,
        "m-2vcpu-16gb": 16 * GIB,
    },
}

# Elasticsearch: "Set Xms and Xmx to no more than 50% of your total memory" and below the
# compressed-oops threshold (about 32 GB; 26-30 GB is safe). Source:
# https://www.elastic.co/docs/reference/elasticsearch/jvm-settings#set-jvm-heap-size
HEAP_SHARE = 0.5
MAX_HEAP_MB = 30 * GIB
# On the local daemon the machine's memory is not known in advance: a small fixed heap.
LOCAL_HEAP_MB = 512
MIN_HEAP_MB = 256


def host_memory_mb(cloud: str, size: str) -> Optional[int]:
    """The memory of ``size`` on ``cloud`` in MiB, or None when this table does not know it."""
    return HOST_MEMORY_MB.get(cloud, {}).get(size)


def max_heap_mb(memory_mb: int) -> int:
    """The largest heap a JVM may get on a host of ``memory_mb``: half of it, at most 30 GiB."""
    return min(int(memory_mb * HEAP_SHARE), MAX_HEAP_MB)


def known_sizes(cloud: str) -> list[str]:
    return sorted(HOST_MEMORY_MB.get(cloud, {}))
