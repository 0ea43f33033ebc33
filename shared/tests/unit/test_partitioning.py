"""The relay's partitioner places every key where Kafka's default partitioner does."""

from __future__ import annotations

import random
import uuid

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference_murmur2

from sanad.shared.partitioning import murmur2, partition_for


def test_murmur2_equals_the_java_clients_for_every_tail_length() -> None:
    rng = random.Random(8)
    for length in range(0, 70):
        for _ in range(40):
            data = rng.randbytes(length)
            assert murmur2(data) == reference_murmur2(data), data


def test_known_values_of_the_java_client() -> None:
    # From org.apache.kafka.common.utils.UtilsTest.testMurmur2 (as signed 32-bit ints).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF, data


def test_partition_for_agrees_with_aiokafkas_default_partitioner() -> None:
    for partitions in (1, 3, 6, 12):
        numbered = list(range(partitions))
        for _ in range(300):
            key = str(uuid.uuid4()).encode()
            assert partition_for(key, partitions) == DefaultPartitioner()(key, numbered, numbered)
