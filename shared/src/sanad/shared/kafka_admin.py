"""Create the declared topics (idempotently) with aiokafka's admin client."""

from __future__ import annotations

from aiokafka.admin import NewTopic

from sanad.shared import kafka_clients
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.topics import TopicSpec, all_topics


async def ensure_topics(access: KafkaAccess, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create whichever of ``specs`` (default: every Sanad topic) is missing. Returns those.
    Only the topics ``access``'s principal may describe are seen (and only those it may create
    are created)."""
    specs = all_topics() if specs is None else specs
    admin = kafka_clients.admin(access, client_id=f"{access.principal}-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=spec.partitions,
                        replication_factor=1,
                        topic_configs=spec.config,
                    )
                    for spec in missing
                ]
            )
        return [spec.name for spec in missing]
    finally:
        await admin.close()
