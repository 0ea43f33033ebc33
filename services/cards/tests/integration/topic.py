"""Reading a real topic back, for the tests."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from sanad.platform.testing import Infra, eventually
from sanad.shared.events import Envelope


async def _assigned(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    return sorted(consumer.assignment())


async def read_topic(infra: Infra, topic: str, key: str) -> list[Envelope]:
    """Every message of one key on a real topic, from offset 0, in order."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await eventually(lambda: _assigned(consumer), what="partitions of " + topic)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[Envelope] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            found += [
                Envelope.from_bytes(record.value)
                for records in batches.values()
                for record in records
                if record.key == key.encode()
            ]
        return found
    finally:
        await consumer.stop()
