"""Which partition a key goes to: Kafka's default partitioner (the Java client's), fast.

The outbox relay packs one record batch per partition itself (``send_batch``) instead of
handing aiokafka one message at a time; it must then place each key exactly where every
other Kafka producer would, so per-key order holds whoever publishes. aiokafka's pure-Python
``murmur2`` reads the key byte by byte (about 7 µs a key, a third of the relay's CPU per
event); this one reads it four bytes at a time and gives the same hash (a test compares).
"""

from __future__ import annotations

import struct
from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=64)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}I")


def murmur2(data: bytes) -> int:
    """MurmurHash2, 32-bit, as ``org.apache.kafka.common.utils.Utils.murmur2``."""
    length = len(data)
    h = _SEED ^ length
    for k in _words(length // 4).unpack_from(data):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` (numbered from 0), as Java's and
    aiokafka's default partitioner choose it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
