"""Reading every event topic from the beginning, without joining any consumer group.

The consumer has no ``group_id``: its partitions are assigned by hand, it never commits an
offset and it cannot disturb (or be seen by) the services' consumer groups. It reads each
partition from offset 0 (or the first offset at or after ``since``) up to the end offset
seen when the read started, in batches (``getmany``), so a run has a fixed end even while
the platform keeps publishing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sanad.audit.domain.records import Position, Record, parse
from sanad.shared.settings import ServiceSettings
from sanad.shared.topics import EVENT_TOPICS

# progress(done, total): messages read so far, out of the messages between start and end.
Progress = Callable[[int, int], None]
BATCH = 5000


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """How the audit's Kafka clients connect and log in: the shared settings' address and
    the audit principal's credentials (read-only on every topic, see ``kafka_acls``)."""
    return settings.kafka.options()


@dataclass
class ReadStats:
    messages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    partitions: dict[str, tuple[int, int]] = field(default_factory=dict)  # tp → (start, end)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _consumer(settings: ServiceSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,  # no group: nothing committed, no rebalance with the live consumers
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"{settings.service}-replay",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        isolation_level="read_committed",
    )


async def reachable(settings: ServiceSettings, timeout: float = 5.0) -> bool:
    """The cluster answers a metadata request (``/readyz``)."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.service}-ready")
    try:
        await asyncio.wait_for(admin.start(), timeout)
        return bool(await asyncio.wait_for(admin.list_topics(), timeout))
    finally:
        await admin.close()


async def _partitions(settings: ServiceSettings, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` that exist (a consumer without a subscription has no
    metadata of its own to ask)."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.service}-replay")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic.get("error_code", 0) == 0
        for partition in topic.get("partitions", [])
    )


async def read(
    settings: ServiceSettings,
    *,
    topics: Iterable[str] = EVENT_TOPICS,
    since: datetime | None = None,
    progress: Progress | None = None,
    keep: Callable[[Record], bool] | None = None,
    on_record: Callable[[Record], None] | None = None,
    parse_records: bool = True,
) -> tuple[list[Record], ReadStats]:
    """Every message of ``topics`` from the start (or ``since``) to the current end.

    ``keep`` decides which parsed records are returned; ``on_record`` sees every parsed
    record (kept or not: the causation check needs every event id). With
    ``parse_records=False`` nothing is parsed or kept: the bare read rate.
    """
    stats = ReadStats()
    consumer = _consumer(settings)
    await consumer.start()
    kept: list[Record] = []
    started = time.perf_counter()
    try:
        partitions = await _partitions(settings, list(topics))
        if not partitions:
            return kept, stats
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        if since is not None:
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in partitions}
            )
            starts = {tp: (found[tp].offset if found[tp] else ends[tp]) for tp in partitions}
        pending = set()
        for tp in partitions:
            stats.partitions[f"{tp.topic}[{tp.partition}]"] = (starts[tp], ends[tp])
            if starts[tp] < ends[tp]:
                consumer.seek(tp, starts[tp])
                pending.add(tp)
            else:
                consumer.pause(tp)
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        if progress:
            progress(0, total)
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=BATCH)
            for tp, messages in batches.items():
                end = ends[tp]
                for message in messages:
                    if message.offset >= end:
                        break
                    stats.messages += 1
                    value = message.value or b""
                    stats.bytes += len(value)
                    if not parse_records:
                        continue
                    record = parse(Position(tp.topic, tp.partition, message.offset), value)
                    if on_record is not None:
                        on_record(record)
                    if keep is None or keep(record):
                        kept.append(record)
            # By position, not by the last offset seen: offsets may have gaps.
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
                    consumer.pause(tp)
            if progress:
                progress(stats.messages, total)
    finally:
        stats.seconds = time.perf_counter() - started
        await consumer.stop()
    return kept, stats
