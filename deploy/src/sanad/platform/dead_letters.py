"""Dead letters: list what a consumer group could not process, and replay it.

Replaying republishes the original message to its original topic with its original key and
headers; consumers are idempotent (processed-events table), so replaying one that did get
processed after all changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from sanad.shared import kafka_clients
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.topics import dead_letter_topic

DLQ_PREFIX = "dlq_"


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def original_topic(self) -> str:
        return self.headers.get("dlq_original_topic", "")

    @property
    def error(self) -> str:
        return f"{self.headers.get('dlq_error_type', '?')}: {self.headers.get('dlq_error', '')}"

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [
            (name, value.encode())
            for name, value in self.headers.items()
            if not name.startswith(DLQ_PREFIX)
        ]


def _dead_letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
    return DeadLetter(record.offset, record.partition, record.key, record.value or b"", headers)


async def _partitions(access: KafkaAccess, topic: str) -> list[TopicPartition]:
    admin = kafka_clients.admin(access)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        raise LookupError(f"no dead-letter topic {topic} on the broker")
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def _drain(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> list[DeadLetter]:
    """What lies between the consumer's positions and ``ends``."""
    letters: list[DeadLetter] = []
    while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
        batches = await consumer.getmany(*ends, timeout_ms=1000)
        for records in batches.values():
            letters += [_dead_letter(r) for r in records if r.offset < ends[_tp(r)]]
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


async def read(access: KafkaAccess, group: str) -> list[DeadLetter]:
    """Every dead letter of ``group``, from the beginning to the current end."""
    partitions = await _partitions(access, dead_letter_topic(group))
    consumer = kafka_clients.consumer(access, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        return await _drain(consumer, await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def _tp(record: ConsumerRecord[bytes, bytes]) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


async def _republish(access: KafkaAccess, letters: list[DeadLetter]) -> int:
    letters = [letter for letter in letters if letter.original_topic]
    producer = kafka_clients.producer(access, enable_idempotence=True)
    await producer.start()
    try:
        for letter in letters:
            await producer.send_and_wait(
                letter.original_topic,
                letter.value,
                key=letter.key,
                headers=letter.original_headers(),
            )
    finally:
        await producer.stop()
    return len(letters)


async def replay(
    access: KafkaAccess, group: str, positions: set[tuple[int, int]] | None = None
) -> int:
    """Republish the dead letters of ``group`` not replayed before, or exactly those at
    ``positions`` ((partition, offset) pairs). Returns how many.

    A cursor (the committed offsets of the consumer group ``sanad-dlq-replay.<group>``)
    remembers what was replayed, so a letter that fails again is not replayed twice over.
    """
    if positions is not None:
        chosen = [
            letter
            for letter in await read(access, group)
            if (letter.partition, letter.offset) in positions
        ]
        return await _republish(access, chosen)
    partitions = await _partitions(access, dead_letter_topic(group))
    cursor = kafka_clients.consumer(
        access,
        group_id=f"sanad-dlq-replay.{group}",
        enable_auto_commit=False,
    )
    await cursor.start()
    try:
        cursor.assign(partitions)
        for tp in partitions:
            committed = await cursor.committed(tp)
            if committed is None:
                await cursor.seek_to_beginning(tp)
            else:
                cursor.seek(tp, committed)
        ends = await cursor.end_offsets(partitions)
        count = await _republish(access, await _drain(cursor, ends))
        await cursor.commit(ends)  # only after every letter was acknowledged
        return count
    finally:
        await cursor.stop()
