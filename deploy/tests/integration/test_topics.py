"""The broker holds every declared topic, kept forever and partitioned for scaling out."""

from __future__ import annotations

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from sanad.platform.testing import Infra
from sanad.shared import kafka_clients
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.topics import EVENT_PARTITIONS, SUBSCRIPTIONS, all_topics, dead_letter_topic


async def test_declared_topics_exist_with_their_settings(infra: Infra) -> None:
    await ensure_topics(infra.kafka)
    assert await ensure_topics(infra.kafka) == []  # safe to run twice
    names = [spec.name for spec in all_topics()]
    assert {dead_letter_topic(group) for group in SUBSCRIPTIONS} <= set(names)
    admin = kafka_clients.admin(infra.kafka)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        partitions = {topic["topic"]: len(topic["partitions"]) for topic in described}
        assert partitions == dict.fromkeys(names, EVENT_PARTITIONS)
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
        retention = {
            resource[3]: {entry[0]: entry[1] for entry in resource[4]}["retention.ms"]
            for response in configs
            for resource in response.resources
        }
        assert retention == dict.fromkeys(names, "-1")
    finally:
        await admin.close()
