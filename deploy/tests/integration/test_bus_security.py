"""The bus as an attacker on the same network meets it: Kafka and Redis refuse anonymous
clients, and each service's credentials do only what its ACLs allow."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from sanad.audit.settings import AuditSettings
from sanad.gateway.settings import GatewaySettings
from sanad.identity.settings import IdentitySettings
from sanad.platform.testing import Infra, eventually
from sanad.profile.settings import ProfileSettings
from sanad.shared import kafka_clients, topics
from sanad.shared.events import Envelope, MobileChanged
from sanad.shared.kafka_acls import desired_acls, sync_acls
from sanad.shared.kafka_clients import KafkaAccess, KafkaCredentials
from sanad.shared.topics import EVENT_PARTITIONS


def forged_event() -> Envelope:
    event = MobileChanged(
        citizen_id=uuid.uuid4(), mobile="+966500000000", changed_at="2026-01-01T00:00:00Z"
    )
    return Envelope.wrap(event, producer="identity", correlation_id="attack")


async def produce(access: KafkaAccess, topic: str) -> None:
    producer = kafka_clients.producer(access, request_timeout_ms=10_000)
    await producer.start()
    try:
        envelope = forged_event()
        await producer.send_and_wait(topic, envelope.to_bytes(), key=envelope.key.encode())
    finally:
        await producer.stop()


async def test_profile_cannot_publish_an_identity_event(provisioned: Infra) -> None:
    profile = provisioned.kafka_as(ProfileSettings())
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(profile, topics.CITIZEN_REGISTERED)


async def test_an_anonymous_client_cannot_connect(provisioned: Infra) -> None:
    anonymous = KafkaAccess(provisioned.kafka_bootstrap, None)
    producer = kafka_clients.producer(anonymous, request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_a_wrong_password_cannot_connect(provisioned: Infra) -> None:
    impostor = KafkaAccess(provisioned.kafka_bootstrap, KafkaCredentials("profile", "guess"))
    producer = kafka_clients.producer(impostor, request_timeout_ms=5_000)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_audit_reads_every_topic_and_writes_none(provisioned: Infra) -> None:
    audit = provisioned.kafka_as(AuditSettings())
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(audit, topics.CITIZEN_REGISTERED)

    # It reads without a consumer group, assigning the partitions itself: a new event is seen.
    consumer = kafka_clients.consumer(audit, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.MOBILE_CHANGED, p) for p in range(EVENT_PARTITIONS)]
        consumer.assign(partitions)
        for partition, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(partition, offset)
        event = forged_event()
        identity = provisioned.kafka_as(IdentitySettings())
        producer = kafka_clients.producer(identity)
        await producer.start()
        try:
            await producer.send_and_wait(
                topics.MOBILE_CHANGED, event.to_bytes(), key=event.key.encode()
            )
        finally:
            await producer.stop()

        async def seen() -> bool:
            batches = await consumer.getmany(timeout_ms=500)
            return any(
                Envelope.from_bytes(record.value).event_id == event.event_id
                for records in batches.values()
                for record in records
            )

        await eventually(seen, what="audit reading the new event")
    finally:
        await consumer.stop()


async def test_a_service_reads_only_its_subscriptions_with_its_own_groups(
    provisioned: Infra,
) -> None:
    profile = provisioned.kafka_as(ProfileSettings())
    # OTPs are for notifications alone.
    consumer = kafka_clients.consumer(
        profile, topics.OTP_REQUESTED, group_id=f"profile-test-{uuid.uuid4().hex[:8]}"
    )
    with pytest.raises(TopicAuthorizationFailedError):
        await consumer.start()
        await consumer.getmany(timeout_ms=5_000)
    await consumer.stop()
    # Its own subscription, but another service's group id.
    consumer = kafka_clients.consumer(
        profile, topics.CITIZEN_REGISTERED, group_id=f"notifications-{uuid.uuid4().hex[:8]}"
    )
    with pytest.raises(GroupAuthorizationFailedError):
        await consumer.start()
        await consumer.getmany(timeout_ms=5_000)
    await consumer.stop()


async def test_the_broker_holds_exactly_the_generated_acls(provisioned: Infra) -> None:
    assert await sync_acls(provisioned.kafka) == (0, 0)
    assert desired_acls()  # and they are not nothing


@pytest.fixture
async def redis_anonymous(provisioned: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(provisioned.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_redis_refuses_an_anonymous_client(redis_anonymous: Redis) -> None:
    with pytest.raises((AuthenticationError, ResponseError)):
        await redis_anonymous.get("identity:otp:code:x")


async def test_redis_gives_a_service_only_its_own_keys(provisioned: Infra) -> None:
    settings = GatewaySettings()
    gateway = Redis.from_url(
        provisioned.redis_url,
        username=settings.redis_username,
        password=settings.redis_password.get_secret_value(),
    )
    try:
        await gateway.set("gateway:test:probe", "1", ex=5)
        with pytest.raises(NoPermissionError):
            await gateway.get("identity:otp:code:x")
        with pytest.raises(NoPermissionError):
            await gateway.flushall()
    finally:
        await gateway.aclose()
