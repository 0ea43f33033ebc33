"""The workload every fault test runs: a thousand citizens, each with one application in
flight through the running platform, and the checks that nothing was lost or doubled.

Seeding, in bulk (``sanad.platform.bulk_seed``, shared with the load benchmark): every
citizen's ``CitizenRegistered`` and filled-in household published as identity and profile
would, one SSP-DEV draft made through the applications API and copied in SQL for each. Half
earn 900 SAR alone (SSP-DEV approves: a 200 SAR top-up, and a card), half 5,000 SAR
(rejected on income). Every draft is then submitted through the applications HTTP API
(directly, not through the gateway, whose per-address rate limit is for citizens, not a load
generator) with an ``Idempotency-Key``, retried on a refused connection or a 503 as any
client would. Tokens are signed with identity's dev signing key, so every service accepts
them as identity's own.

What is counted afterwards, from the topics (read from where they ended before the test)
and from what the SMS sink and the mail catcher hold: see ``Outcome``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sanad.identity.settings import IdentitySettings
from sanad.platform import bulk_seed

# Re-exported: the fault tests take them from here with the rest of the workload.
from sanad.platform.bulk_seed import Citizen as Citizen
from sanad.platform.bulk_seed import citizens as citizens
from sanad.platform.bulk_seed import copy_drafts as copy_drafts
from sanad.platform.layout import MAIL_HTTP_PORT, SERVICES, SMS_SINK_PORT, port
from sanad.shared import kafka_clients, topics
from sanad.shared.auth import TokenSigner
from sanad.shared.events import Envelope
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.settings import reveal

SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
MAIL_API = f"http://127.0.0.1:{port(MAIL_HTTP_PORT)}"
URL = {service.name: f"http://127.0.0.1:{service.port}" for service in SERVICES}
# Every topic whose events this workload causes, and every consumer group's dead letters.
COUNTED = (
    topics.CITIZEN_REGISTERED,
    topics.PROFILE_UPDATED,
    topics.APPLICATION_SUBMITTED,
    topics.ELIGIBILITY_EVALUATED,
    topics.DECISION_ISSUED,
    topics.CARD_ISSUED,
    topics.NOTIFICATION_DISPATCHED,
    *(topics.dead_letter_topic(group) for group in topics.SUBSCRIPTIONS),
)


def signer() -> TokenSigner:
    """Identity's own dev key: every service verifies these tokens through identity's JWKS."""
    return TokenSigner(reveal(IdentitySettings().signing_key.get_secret_value()))


async def seed_profiles(producer: AIOKafkaProducer, people: list[Citizen]) -> None:
    await bulk_seed.seed_profiles(producer, people, IdentitySettings().pseudonyms)


async def template_draft(http: httpx.AsyncClient, owner: Citizen) -> uuid.UUID:
    return await bulk_seed.template_draft(http, owner, URL["applications"])


async def submit_all(
    http: httpx.AsyncClient, people: list[Citizen], *, concurrency: int = 12, deadline: float = 240
) -> Counter[int]:
    """Submit every draft through the applications API; a refused connection, a timeout or
    a 503 is retried with the same Idempotency-Key. The statuses seen, retries included."""
    seen: Counter[int] = Counter()
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + deadline

    async def one(citizen: Citizen) -> None:
        key = f"faults-{citizen.application_id}"
        async with gate:
            while True:
                try:
                    response = await http.post(
                        f"{URL['applications']}/v1/applications/{citizen.application_id}/submit",
                        json={"declaration_accepted": True},
                        headers=citizen.headers | {"Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    seen[0] += 1  # the service is away (being restarted): retry
                else:
                    seen[response.status_code] += 1
                    if response.status_code == 200:
                        return
                    assert response.status_code in (502, 503), response.text
                assert loop.time() < stop_at, f"{citizen.application_id} never submitted"
                await asyncio.sleep(0.5)

    await asyncio.gather(*(one(c) for c in people))
    return seen


async def end_offsets(kafka: KafkaAccess) -> dict[TopicPartition, int]:
    consumer = kafka_clients.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    spec = {t.name: t.partitions for t in topics.all_topics()}  # what the platform creates
    try:
        partitions = [TopicPartition(topic, p) for topic in COUNTED for p in range(spec[topic])]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


async def read_since(
    kafka: KafkaAccess, since: dict[TopicPartition, int]
) -> list[tuple[str, Envelope]]:
    """Every message (topic, envelope) on the counted topics after ``since``, up to their
    current ends."""
    consumer = kafka_clients.consumer(kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = list(since)
        consumer.assign(partitions)
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        ends = await consumer.end_offsets(partitions)
        found: list[tuple[str, Envelope]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp] and record.value is not None:
                        if tp.topic.startswith("dlq."):
                            found.append((tp.topic, _dead_letter(record.value, tp.topic)))
                        else:
                            found.append((tp.topic, Envelope.from_bytes(record.value)))
        return found
    finally:
        await consumer.stop()


def _dead_letter(value: bytes, topic: str) -> Envelope:
    try:
        return Envelope.from_bytes(value)
    except Exception:  # a dead letter that is not even an envelope: still counted
        return Envelope.model_validate(
            {
                "event_id": uuid.uuid4(),
                "event_type": f"unreadable on {topic}",
                "schema_version": 1,
                "occurred_at": datetime.now(UTC),
                "producer": "?",
                "key": "?",
                "payload": {"raw": value[:200].decode("utf-8", "replace")},
            }
        )


@dataclass
class Outcome:
    """What the platform did with the workload's citizens, counted where others see it."""

    per_application: dict[str, Counter[str]]  # application id → event type → distinct events
    cards_per_citizen: Counter[str]  # distinct CardIssued events
    dispatched: int  # distinct NotificationDispatched events for our citizens
    dead_letters: list[str]
    raw_messages: int  # every message counted, duplicates (redeliveries) included
    distinct_events: int
    sms: dict[str, int]  # mobile → messages at the SMS sink
    email: dict[str, int]  # address → messages at the mail catcher
    statuses: Counter[str]
    deliveries: Counter[str]  # status of notifications' deliveries for our citizens


async def outcome(
    kafka: KafkaAccess,
    since: dict[TopicPartition, int],
    people: list[Citizen],
    db: AsyncEngine,
    http: httpx.AsyncClient,
    started_at: str,
) -> Outcome:
    ours_citizens = {str(c.citizen_id) for c in people}
    ours_apps = {str(c.application_id) for c in people}
    messages = await read_since(kafka, since)
    # Any dead letter while the workload ran is a failure, ours or not.
    dead = [f"{topic}: {m.event_type} {m.key}" for topic, m in messages if topic.startswith("dlq.")]
    distinct: dict[uuid.UUID, Envelope] = {
        m.event_id: m for topic, m in messages if not topic.startswith("dlq.")
    }
    per_application: dict[str, Counter[str]] = defaultdict(Counter)
    cards: Counter[str] = Counter()
    dispatched = 0
    for event in distinct.values():
        payload = event.payload
        application = str(payload.get("application_id", ""))
        citizen = str(payload.get("citizen_id", ""))
        if application in ours_apps and event.event_type in (
            "ApplicationSubmitted",
            "EligibilityEvaluated",
            "DecisionIssued",
        ):
            per_application[application][event.event_type] += 1
        elif event.event_type == "CardIssued" and citizen in ours_citizens:
            cards[citizen] += 1
        elif event.event_type == "NotificationDispatched" and citizen in ours_citizens:
            dispatched += 1
    async with db.connect() as conn:
        statuses = Counter(
            row.status
            for row in await conn.execute(
                text(
                    "SELECT status FROM applications.applications "
                    "WHERE application_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": [c.application_id for c in people]},
            )
        )
        deliveries = Counter(
            f"{row.channel}:{row.status}"
            for row in await conn.execute(
                text(
                    "SELECT channel, status FROM notifications.deliveries "
                    "WHERE citizen_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": [c.citizen_id for c in people]},
            )
        )
    mobiles = {c.mobile for c in people}
    emails = {c.email for c in people}
    # Only what arrived since the run began (the sinks hold thousands from earlier runs).
    sms = Counter(
        m["to"]
        for m in (await http.get(f"{SMS_SINK}/messages", params={"since": started_at})).json()[
            "messages"
        ]
        if m["to"] in mobiles
    )
    mail = Counter(
        rcpt
        for m in (
            await http.get(f"{MAIL_API}/messages", params={"since": started_at, "envelope": "true"})
        ).json()["messages"]
        for rcpt in m["to"]
        if rcpt in emails
    )
    return Outcome(
        per_application=dict(per_application),
        cards_per_citizen=cards,
        dispatched=dispatched,
        dead_letters=dead,
        raw_messages=len(messages),
        distinct_events=len(distinct),
        sms={m: sms.get(m, 0) for m in mobiles},
        email={e: mail.get(e, 0) for e in emails},
        statuses=statuses,
        deliveries=deliveries,
    )


def summary(outcome: Outcome) -> str:
    return json.dumps(
        {
            "statuses": outcome.statuses,
            "deliveries": outcome.deliveries,
            "raw_messages": outcome.raw_messages,
            "distinct_events": outcome.distinct_events,
            "dead_letters": outcome.dead_letters[:5],
        },
        default=str,
    )


def assert_exactly_once(outcome: Outcome, people: list[Citizen]) -> None:
    """Every application one submission, one evaluation, one decision; every approved
    citizen one card; every citizen one SMS and one email per notification (the decision,
    and the card for the approved); nothing dead-lettered."""
    assert outcome.dead_letters == [], outcome.dead_letters
    approved = [c for c in people if c.approved]
    assert outcome.statuses == Counter(
        {"APPROVED": len(approved), "REJECTED": len(people) - len(approved)}
    ), summary(outcome)
    wanted = Counter({"ApplicationSubmitted": 1, "EligibilityEvaluated": 1, "DecisionIssued": 1})
    wrong = {
        str(c.application_id): outcome.per_application.get(str(c.application_id))
        for c in people
        if outcome.per_application.get(str(c.application_id)) != wanted
    }
    assert not wrong, f"{len(wrong)} applications off: {list(wrong.items())[:3]}"
    wrong_cards = [
        c
        for c in people
        if outcome.cards_per_citizen.get(str(c.citizen_id), 0) != (1 if c.approved else 0)
    ]
    assert not wrong_cards, f"{len(wrong_cards)} citizens with a wrong card count"
    for citizen in people:
        expected = 2 if citizen.approved else 1  # the decision, and the card
        assert outcome.sms[citizen.mobile] == expected, (citizen, outcome.sms[citizen.mobile])
        assert outcome.email[citizen.email] == expected, (citizen, outcome.email[citizen.email])
    messages = len(approved) * 2 + (len(people) - len(approved))
    assert outcome.deliveries == Counter({"sms:sent": messages, "email:sent": messages}), summary(
        outcome
    )
    assert outcome.dispatched == 2 * messages, summary(outcome)


async def finished(db: AsyncEngine, people: list[Citizen]) -> tuple[int, int]:
    """(applications decided, deliveries ended) of the workload: what recovery waits for."""
    async with db.connect() as conn:
        decided = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM applications.applications "
                    "WHERE application_id = ANY(CAST(:ids AS uuid[])) "
                    "AND status IN ('APPROVED', 'REJECTED')"
                ),
                {"ids": [c.application_id for c in people]},
            )
        ).scalar_one()
        ended = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM notifications.deliveries "
                    "WHERE citizen_id = ANY(CAST(:ids AS uuid[])) AND status IN ('sent', 'failed')"
                ),
                {"ids": [c.citizen_id for c in people]},
            )
        ).scalar_one()
    return int(decided), int(ended)


def expected_deliveries(people: list[Citizen]) -> int:
    approved = sum(1 for c in people if c.approved)
    return 2 * (2 * approved + (len(people) - approved))
