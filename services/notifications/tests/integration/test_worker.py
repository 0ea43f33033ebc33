"""The delivery worker's claim, lease and crash rules, on the real Postgres, SMS sink and
mail catcher.

Workers here are built directly on a schema of their own (migrated by the service's
migrations), so the in-process service of the other tests never claims these rows; a
"crash" is a worker whose claim is left behind, a "slow provider" a fake one that waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiosmtplib
import httpx
import pytest
from sqlalchemy import Row, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sanad.notifications import repository
from sanad.notifications.channels.email import SmtpMailer, message_id_for
from sanad.notifications.channels.results import SendResult
from sanad.notifications.channels.sms import HttpSmsProvider, SmsProvider
from sanad.notifications.domain.planning import Channel, Contact, plan_decision, plan_otp
from sanad.notifications.domain.retries import Outcome
from sanad.notifications.main import MIGRATIONS
from sanad.notifications.models import deliveries, delivery_attempts
from sanad.notifications.rendering import Email, Renderer
from sanad.notifications.settings import NotificationsSettings
from sanad.notifications.worker import DeliveryWorker
from sanad.platform.testing import Infra, eventually
from sanad.shared.crypto import seal
from sanad.shared.db import SessionFactory, create_engine, session_factory
from sanad.shared.events import DecisionIssued, Envelope, OtpRequested
from sanad.shared.messaging_tables import outbox
from sanad.shared.migrations import upgrade

from .conftest import (
    SMS_SINK,
    SMTP_PORT,
    email_address,
    mail_duplicates,
    mail_to,
    mobile,
    sms_to,
)

T = TypeVar("T")
OTP_PUBLIC_KEY = "GxX4vnERh_7KfPZ6p_Lrxo5rRi8IcQ3g8YG01tlH1RM"  # the dev key's public half


@dataclass
class Db:
    sessions: SessionFactory
    engine: AsyncEngine

    async def queue(self, channel: Channel = Channel.SMS) -> Any:
        """One due delivery of an UNDER_REVIEW decision; its row."""
        citizen_id = uuid.uuid4()
        event = DecisionIssued.model_validate(
            {
                "decision_id": uuid.uuid4(),
                "application_id": uuid.uuid4(),
                "citizen_id": citizen_id,
                "program_code": "SSP-DEV",
                "decision": "UNDER_REVIEW",
                "reasons": [],
                "decided_by": "rules",
                "decided_at": datetime.now(UTC),
            }
        )
        contact = Contact(citizen_id, mobile(), email_address(), "en", full_name_en="Sara")
        [planned] = [
            p for p in plan_decision(event, contact, appeal_window_days=30) if p.channel == channel
        ]
        source = Envelope.wrap(event, producer="test")
        async with self.sessions() as session, session.begin():
            await repository.queue(session, source, [planned])
        [row] = await self.where(deliveries.c.source_event_id == source.event_id)
        return row

    async def queue_otp(self) -> Any:
        """One due OTP delivery (sealed for the dev key); its row."""
        event = OtpRequested(
            registration_id=uuid.uuid4(),
            mobile=mobile(),
            language="en",
            encrypted_code=seal(OTP_PUBLIC_KEY, b"123456"),
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )
        source = Envelope.wrap(event, producer="test")
        async with self.sessions() as session, session.begin():
            await repository.queue(session, source, plan_otp(event, source.occurred_at))
        [row] = await self.where(deliveries.c.source_event_id == source.event_id)
        return row

    async def where(self, *conditions: Any) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(select(deliveries).where(*conditions))).all())

    async def row(self, delivery_id: uuid.UUID) -> Any:
        [row] = await self.where(deliveries.c.id == delivery_id)
        return row

    async def attempts(self, delivery_id: uuid.UUID) -> list[Any]:
        async with self.engine.connect() as conn:
            query = (
                select(delivery_attempts)
                .where(delivery_attempts.c.delivery_id == delivery_id)
                .order_by(delivery_attempts.c.id)
            )
            return list((await conn.execute(query)).all())

    async def reported(self, delivery_id: uuid.UUID) -> list[str]:
        """Statuses of the NotificationDispatched events the outbox holds for the delivery."""
        async with self.engine.connect() as conn:
            envelopes = (await conn.execute(select(outbox.c.envelope))).scalars().all()
        return [
            e["payload"]["status"]
            for e in envelopes
            if e["payload"].get("delivery_id") == str(delivery_id)
        ]


@pytest.fixture(scope="module")
async def schema_db(provisioned: Infra) -> AsyncIterator[Db]:
    schema = f"t_notifications_worker_{uuid.uuid4().hex[:8]}"
    admin_url = provisioned.database_admin_url()
    admin = create_async_engine(admin_url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    assert MIGRATIONS is not None
    await asyncio.to_thread(upgrade, MIGRATIONS, admin_url, schema)
    engine = create_engine(admin_url, schema, application_name="test-notifications-worker")
    try:
        yield Db(session_factory(engine, producer="notifications"), engine)
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def db(schema_db: Db) -> Db:
    async with schema_db.sessions() as session, session.begin():
        await session.execute(delete(deliveries))  # each test starts with an empty queue
    return schema_db


def settings(**overrides: Any) -> NotificationsSettings:
    values: dict[str, Any] = {
        "retry_first_delay": 0.2,
        "retry_max_delay": 1.0,
        "worker_poll_interval": 0.05,
        **overrides,
    }
    return NotificationsSettings(**values)


def real_sms(config: NotificationsSettings) -> HttpSmsProvider:
    return HttpSmsProvider(SMS_SINK, "sms-dev-key", "SANAD", timeout=config.send_timeout)


def worker(
    db: Db,
    config: NotificationsSettings,
    sms: SmsProvider | None = None,
    mailer: SmtpMailer | None = None,
) -> DeliveryWorker:
    return DeliveryWorker(
        config,
        db.sessions,
        sms=sms or real_sms(config),
        mailer=mailer
        or SmtpMailer(
            host="127.0.0.1", port=SMTP_PORT, sender="Sanad <no-reply@sanad.example>", timeout=5
        ),
        renderer=Renderer(portal_url="https://sanad.example"),
    )


@contextlib.asynccontextmanager
async def running(*workers: DeliveryWorker) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task, w in zip(tasks, workers, strict=True):
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await w.close()


class HeldSms:
    """A slow SMS provider: each send waits until the test releases it (or, with
    ``hang_first``, the first send never answers and the others answer at once)."""

    def __init__(self, *, hang_first: bool = False) -> None:
        self.calls: list[str] = []  # idempotency keys, in call order
        self.released = asyncio.Event()
        self._hang_first = hang_first

    async def count(self) -> int:
        return len(self.calls)

    async def send(self, to: str, body: str, *, idempotency_key: str) -> SendResult:
        self.calls.append(idempotency_key)
        if self._hang_first and len(self.calls) == 1:
            await asyncio.Event().wait()  # a provider that never answers
        if not self._hang_first:
            await self.released.wait()
        return SendResult.sent(202, f"held-{len(self.calls)}")

    async def aclose(self) -> None:
        pass


def hold_start(
    monkeypatch: pytest.MonkeyPatch, held_up: Callable[[set[uuid.UUID]], bool]
) -> asyncio.Event:
    """The first start of a batch whose delivery ids are ``held_up`` waits for the returned
    event (a database slow to take it), as a row can wait between its claim and its send."""
    gate, real = asyncio.Event(), repository.start_sends
    held = False

    async def start_sends(db: Any, claims: Any, **kw: Any) -> set[uuid.UUID]:
        nonlocal held
        if held_up({row_id for row_id, _ in claims}) and not held:
            held = True
            await gate.wait()
        return await real(db, claims, **kw)

    monkeypatch.setattr(repository, "start_sends", start_sends)
    return gate


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Counts the calls of ``repository.<name>`` (in a one-element list)."""
    calls, real = [0], getattr(repository, name)

    async def counted(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        return await real(*args, **kw)

    monkeypatch.setattr(repository, name, counted)
    return calls


async def value(get: Callable[[], T]) -> T:
    """``get()`` as something ``eventually`` can poll."""
    return get()


def statuses(rows: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows:
        found[row.status] = found.get(row.status, 0) + 1
    return found


# --- 1. claimed rows are sent or go back; never lost without an attempt -------------------


async def test_claims_no_more_rows_than_there_are_free_send_slots(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [(await db.queue()).id for _ in range(5)]
    sms = HeldSms()
    reaps = count_calls(monkeypatch, "reclaim_abandoned")  # once per lap of the worker loop
    async with running(worker(db, settings(worker_concurrency=2, worker_batch=100), sms)):
        await eventually(sms.count, until=lambda n: n == 2)
        # Two more laps of the loop with every slot taken: an over-claim would be made there.
        seen = reaps[0]
        await eventually(lambda: value(lambda: reaps[0]), until=lambda n: n >= seen + 2)
        assert statuses(await db.where()) == {"sending": 2, "pending": 3}
        sms.released.set()
        rows = await eventually(
            db.where, until=lambda rows: statuses(rows) == {"sent": 5}, what="5 sent"
        )
    assert sorted(sms.calls) == sorted(str(i) for i in ids)  # each sent once
    assert {r.attempts for r in rows} == {1}


async def test_a_crashed_workers_rows_are_sent_and_an_interrupted_send_arrives_once(
    db: Db,
) -> None:
    never_started, mid_send = await db.queue(), await db.queue()
    # The crashed worker: it claimed both, started one send, then died (nothing recorded).
    # Its leases are zero long: over as soon as it committed.
    async with db.sessions() as session, session.begin():
        claimed = await repository.claim_due(session, limit=10, lease_seconds=0)
        token = {r.id: r.claim_token for r in claimed}
        assert await repository.start_send(
            session, mid_send.id, token[mid_send.id], lease_seconds=0
        )
    # Its one send had reached the provider when it died.
    first = await real_sms(settings()).send(
        mid_send.recipient, "Your request is under review", idempotency_key=str(mid_send.id)
    )
    assert first.outcome is Outcome.SENT

    async with running(worker(db, settings())):
        sent = await eventually(
            lambda: db.row(never_started.id), until=lambda r: r.status == "sent", what="sent"
        )
        resent = await eventually(
            lambda: db.row(mid_send.id), until=lambda r: r.status == "sent", what="resent"
        )
    assert sent.attempts == 1  # the claim by the dead worker was no attempt
    assert len(await sms_to(never_started.recipient)) == 1
    assert [a.outcome for a in await db.attempts(never_started.id)] == ["sent"]
    # Sent again with the same Idempotency-Key: the provider answered with the original.
    assert resent.attempts == 2  # the interrupted attempt stays counted
    [one] = await sms_to(mid_send.recipient)
    assert one["idempotency_key"] == str(mid_send.id)
    assert resent.provider_message_id == one["id"] == first.provider_message_id
    assert await db.reported(mid_send.id) == ["sent"]


async def test_graceful_stop_returns_unstarted_rows_and_records_the_started_sends(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await db.queue(), await db.queue()
    gate = hold_start(monkeypatch, lambda ids: first.id not in ids)  # any later batch
    sms = HeldSms()
    w = worker(db, settings(worker_concurrency=3), sms)  # slow: two sends are in flight
    task = asyncio.create_task(w.run())
    await eventually(sms.count, until=lambda n: n == 2)
    waiting = await db.queue()  # claimed next, its start held up
    await eventually(lambda: db.row(waiting.id), until=lambda r: r.status == "sending")
    task.cancel()  # SIGTERM
    await eventually(
        lambda: db.row(waiting.id), until=lambda r: r.status == "pending", what="released"
    )
    gate.set()  # its start comes too late: the row is no longer this claim's
    sms.released.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await w.close()

    assert sorted(sms.calls) == sorted([str(first.id), str(second.id)])
    assert {(await db.row(i)).status for i in (first.id, second.id)} == {"sent"}
    back = await db.row(waiting.id)
    assert (back.status, back.attempts, back.claim_token, back.send_started_at) == (
        "pending",
        0,
        None,
        None,
    )
    assert await db.attempts(waiting.id) == []
    # ...and another instance sends it.
    async with running(worker(db, settings())):
        await eventually(lambda: db.row(waiting.id), until=lambda r: r.status == "sent")
    assert len(await sms_to(waiting.recipient)) == 1


# --- 2. a row is sent and recorded only by the claim that holds it -------------------------


async def test_a_send_whose_claim_was_taken_over_is_not_made(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = await db.queue()
    gate = hold_start(monkeypatch, lambda ids: row.id in ids)
    fast = settings(lease_seconds=1.0, send_timeout=0.25)
    first = worker(db, fast)
    async with running(first):
        await eventually(lambda: db.row(row.id), until=lambda r: r.status == "sending")
        async with running(worker(db, fast)):  # another instance, once the lease is over
            await eventually(
                lambda: db.row(row.id), until=lambda r: r.status == "sent", what="sent"
            )
            gate.set()  # the first worker finally gets to start its send
            await eventually(
                lambda: value(lambda: first.in_flight), until=lambda n: n == 0, what="given up"
            )
    assert len(await sms_to(row.recipient)) == 1
    done = await db.row(row.id)
    assert (done.status, done.attempts) == ("sent", 1)
    assert [a.outcome for a in await db.attempts(row.id)] == ["sent"]
    assert await db.reported(row.id) == ["sent"]


async def test_the_lease_is_renewed_when_the_send_starts(db: Db) -> None:
    row = await db.queue()
    async with db.sessions() as session, session.begin():  # a lease over at once
        [claimed] = await repository.claim_due(session, limit=1, lease_seconds=0)
    # The claim's lease is over, but nobody took the row yet.
    async with db.sessions() as session, session.begin():
        assert await repository.start_send(session, row.id, claimed.claim_token, lease_seconds=60)
        returned, failed = await repository.reclaim_abandoned(session)
    assert (returned, failed) == ([], [])
    started = await db.row(row.id)
    assert (started.status, started.attempts) == ("sending", 1)
    assert (started.lease_until - started.send_started_at).total_seconds() == pytest.approx(60)


async def test_finish_is_refused_to_a_claim_that_no_longer_holds_the_row(db: Db) -> None:
    row = await db.queue()
    async with db.sessions() as session, session.begin():
        [stale] = await repository.claim_due(session, limit=1, lease_seconds=0)
    async with db.sessions() as session, session.begin():
        assert await repository.reclaim_abandoned(session) == ([row.id], [])
        [current] = await repository.claim_due(session, limit=1, lease_seconds=60)
        # The stale claim can neither start the send nor record an outcome.
        assert not await repository.start_send(session, row.id, stale.claim_token, lease_seconds=60)
        assert await repository.finish(session, row.id, stale.claim_token, status="failed") is None
    assert (await db.row(row.id)).status == "sending"
    async with db.sessions() as session, session.begin():
        done = await repository.finish(session, row.id, current.claim_token, status="sent")
    assert done is not None and done.status == "sent"


async def test_a_send_that_never_answers_is_cut_at_the_send_timeout_and_retried(db: Db) -> None:
    row = await db.queue()
    sms = HeldSms(hang_first=True)
    async with running(worker(db, settings(send_timeout=0.3, lease_seconds=2.0), sms)):
        done = await eventually(
            lambda: db.row(row.id), until=lambda r: r.status == "sent", timeout=10, what="sent"
        )
    attempts = await db.attempts(row.id)
    assert [(a.outcome, a.error) for a in attempts] == [
        ("transient", "timeout: the send took too long"),
        ("sent", None),
    ]
    assert (attempts[0].finished_at - attempts[0].started_at).total_seconds() < 1.5
    assert done.attempts == 2 and sms.calls == [str(row.id)] * 2


# --- 3. a retry after a lost answer is recognisably the same message -----------------------


async def test_an_sms_whose_answer_timed_out_is_not_sent_twice(db: Db) -> None:
    row = await db.queue()
    async with httpx.AsyncClient() as client:  # the sink takes it, answers too late
        planned = await client.post(
            f"{SMS_SINK}/control/latency",
            json={"seconds": 1.5, "count": 1, "to": row.recipient},
        )
        planned.raise_for_status()
    async with running(worker(db, settings(send_timeout=0.3, lease_seconds=2.0))):
        # Sent: the sink has handled both calls (the retry answered with the original).
        done = await eventually(
            lambda: db.row(row.id), until=lambda r: r.status == "sent", timeout=10, what="sent"
        )
    assert [a.outcome for a in await db.attempts(row.id)] == ["transient", "sent"]
    [sms] = await sms_to(row.recipient)
    assert sms["idempotency_key"] == str(row.id)
    assert done.provider_message_id == sms["id"]  # the provider's original message


class AnswerLostMailer(SmtpMailer):
    """Delivers, then reports a timeout the first time: an answer lost after DATA."""

    sends = 0

    async def send(self, to: str, email: Email, language: str, *, message_id: str) -> SendResult:
        result = await super().send(to, email, language, message_id=message_id)
        self.sends += 1
        if self.sends == 1:
            return SendResult(Outcome.TRANSIENT, error="connection: SMTPReadTimeoutError")
        return result


async def test_an_email_sent_again_after_a_lost_answer_has_the_same_message_id(db: Db) -> None:
    row = await db.queue(Channel.EMAIL)
    mailer = AnswerLostMailer(
        host="127.0.0.1", port=SMTP_PORT, sender="Sanad <no-reply@sanad.example>", timeout=5
    )
    duplicates_before = await mail_duplicates()
    async with running(worker(db, settings(), mailer=mailer)):
        done = await eventually(lambda: db.row(row.id), until=lambda r: r.status == "sent")
    assert mailer.sends == 2  # sent twice over SMTP ...
    # ... kept once by the mailbox, which folds a copy by its Message-ID.
    await eventually(mail_duplicates, until=lambda n: n == duplicates_before + 1)
    [mail] = await mail_to(row.recipient)
    message_id = f"<{row.id}@sanad.notifications>"
    assert mail["headers"]["Message-ID"] == message_id
    assert done.provider_message_id == message_id


# --- 4. codes first; batches keep every row's guarantees ----------------------------------


async def test_a_claim_takes_no_more_rows_than_its_limit(db: Db) -> None:
    for _ in range(12):
        await db.queue()
    await db.queue_otp()
    for _ in range(4):  # (a subquery rescanned mid-UPDATE once took all 4 rows for 2)
        async with db.sessions() as session, session.begin():
            claimed = await repository.claim_due(session, limit=3, lease_seconds=60)
        assert len(claimed) == 3
    assert statuses(await db.where()) == {"sending": 12, "pending": 1}


async def test_otp_deliveries_are_claimed_before_older_decision_deliveries(db: Db) -> None:
    older = [await db.queue() for _ in range(3)]
    otp = await db.queue_otp()  # queued last, due last
    assert otp.next_attempt_at > older[-1].next_attempt_at
    async with db.sessions() as session, session.begin():
        claimed = await repository.claim_due(session, limit=2, lease_seconds=60)
    assert {r.id for r in claimed} == {otp.id, older[0].id}  # the code, then the oldest
    async with db.sessions() as session, session.begin():
        await repository.release_unstarted(session, [r.claim_token for r in claimed])

    sms = HeldSms()  # one send at a time, held: the first one made is the code
    async with running(worker(db, settings(worker_concurrency=1), sms)):
        await eventually(sms.count, until=lambda n: n == 1)
        assert sms.calls == [str(otp.id)]
        sms.released.set()
        await eventually(db.where, until=lambda rows: statuses(rows) == {"sent": 4})
    assert sms.calls[0] == str(otp.id) and len(set(sms.calls)) == 4


async def test_two_batching_workers_send_every_row_exactly_once(db: Db) -> None:
    rows = [await db.queue(Channel.SMS if n % 2 else Channel.EMAIL) for n in range(40)]
    config = settings(worker_batch=8, worker_concurrency=16)
    async with running(worker(db, config), worker(db, config)):
        done = await eventually(
            db.where, until=lambda found: statuses(found) == {"sent": 40}, timeout=60
        )
    assert {r.attempts for r in done} == {1}
    for row in rows:
        assert [a.outcome for a in await db.attempts(row.id)] == ["sent"]
        assert await db.reported(row.id) == ["sent"]
        at_sink = await (sms_to if row.channel == "sms" else mail_to)(row.recipient)
        assert len(at_sink) == 1


async def test_a_recorded_batch_moves_only_the_rows_its_claims_still_hold(db: Db) -> None:
    taken_over, held = await db.queue(), await db.queue()
    async with db.sessions() as session, session.begin():
        tokens = {
            r.id: r.claim_token
            for r in await repository.claim_due(session, limit=2, lease_seconds=60)
        }
        moved = await repository.finish_many(
            session,
            [
                repository.Outcome(taken_over.id, uuid.uuid4(), "sent", 1),  # not its claim
                repository.Outcome(
                    held.id, tokens[held.id], "sent", 1, provider_message_id="p-1", segments=2
                ),
            ],
        )
    assert [(r.id, r.status, r.provider_message_id, r.segments) for r in moved] == [
        (held.id, "sent", "p-1", 2)
    ]
    still = await db.row(taken_over.id)
    assert (still.status, still.claim_token) == ("sending", tokens[taken_over.id])


async def test_emails_share_one_smtp_session_and_a_dropped_one_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connects, real = [0], aiosmtplib.SMTP.connect

    async def connect(self: aiosmtplib.SMTP, *args: Any, **kw: Any) -> Any:
        connects[0] += 1
        return await real(self, *args, **kw)

    monkeypatch.setattr(aiosmtplib.SMTP, "connect", connect)
    mailer = SmtpMailer(
        host="127.0.0.1", port=SMTP_PORT, sender="Sanad <no-reply@sanad.example>", timeout=5
    )
    email = Email(subject="s", text="t\n", html="<p>t</p>")
    addresses = [email_address() for _ in range(4)]
    try:
        for address in addresses[:3]:
            result = await mailer.send(
                address, email, "en", message_id=message_id_for(uuid.uuid4())
            )
            assert result.outcome is Outcome.SENT
        assert connects[0] == 1  # one session for the three
        for session in mailer._idle:  # the server hangs up on the idle session
            session.client.close()
        result = await mailer.send(
            addresses[3], email, "en", message_id=message_id_for(uuid.uuid4())
        )
        assert result.outcome is Outcome.SENT and connects[0] == 2
    finally:
        await mailer.aclose()
    for address in addresses:
        assert len(await mail_to(address)) == 1


# --- the migrations --------------------------------------------------------------------


async def test_migrations_keep_claimed_rows_started_and_make_codes_urgent(
    provisioned: Infra,
) -> None:
    schema = f"t_notifications_mig_{uuid.uuid4().hex[:8]}"
    admin_url = provisioned.database_admin_url()
    engine = create_async_engine(admin_url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    assert MIGRATIONS is not None
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, admin_url, schema, "notifications_0002")

        def row(status: str, template: str = "otp") -> dict[str, Any]:
            return {
                "id": uuid.uuid4(),
                "source_event_id": uuid.uuid4(),
                "source_event_type": "OtpRequested",
                "channel": "sms",
                "template": template,
                "language": "en",
                "context": {},
                "status": status,
            }

        rows = [row("sending"), row("pending"), row("pending", "decision_under_review")]
        async with engine.begin() as conn:
            await conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            # Only the columns 0002 has (the model has grown since).
            await conn.execute(insert(deliveries).values(rows))
        await asyncio.to_thread(upgrade, MIGRATIONS, admin_url, schema)
        async with engine.connect() as conn:
            await conn.execute(text(f'SET search_path TO "{schema}"'))
            found = await conn.execute(
                select(
                    deliveries.c.status,
                    deliveries.c.template,
                    deliveries.c.send_started_at,
                    deliveries.c.priority,
                )
            )
            # 0003: rows claimed by older code count as started; 0004: codes are urgent.
            assert {
                (r.status, r.template, r.send_started_at is not None, r.priority) for r in found
            } == {
                ("sending", "otp", True, 0),
                ("pending", "otp", False, 0),
                ("pending", "decision_under_review", False, 1),
            }
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def test_a_batch_of_decisions_queues_each_once_and_reports_the_unreachable(db: Db) -> None:
    """The batch handler the inbox runs for decisions: one read of the contacts, one INSERT
    for every delivery of the batch; a citizen with no contact gets one failed SMS, reported;
    the same events again (a redelivery without their inbox marks) add nothing."""
    from sanad.notifications.handlers import batch_handlers
    from sanad.notifications.models import contacts

    known = [uuid.uuid4(), uuid.uuid4()]
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(contacts),
            [
                {
                    "citizen_id": citizen_id,
                    "mobile": mobile(),
                    "email": email_address(),
                    "language": language,
                    "full_name_en": "Sara",
                    "full_name_ar": "سارة",
                }
                for citizen_id, language in zip(known, ("ar", "en"), strict=True)
            ],
        )
    unknown = uuid.uuid4()
    events = [
        DecisionIssued.model_validate(
            {
                "decision_id": uuid.uuid4(),
                "application_id": uuid.uuid4(),
                "citizen_id": citizen_id,
                "program_code": "SSP-DEV",
                "decision": "APPROVED",
                "reasons": [],
                "monthly_benefit": "200.00",
                "decided_by": "rules",
                "decided_at": datetime.now(UTC),
            }
        )
        for citizen_id in (*known, unknown)
    ]
    batch = [(event, Envelope.wrap(event, producer="test")) for event in events]
    handle = batch_handlers(settings())[DecisionIssued]
    for _ in range(2):
        async with db.sessions() as session, session.begin():
            await handle(session, batch)

    for citizen_id, language in zip(known, ("ar", "en"), strict=True):
        rows = await db.where(deliveries.c.citizen_id == citizen_id)
        assert sorted((r.channel, r.status, r.language) for r in rows) == [
            ("email", "pending", language),
            ("sms", "pending", language),
        ]
        assert all(r.context["monthly_benefit"] == "200.00" for r in rows)
    [failed] = await db.where(deliveries.c.citizen_id == unknown)
    assert (failed.channel, failed.status, failed.recipient) == ("sms", "failed", None)
    assert "no contact" in failed.last_error
    assert await db.reported(failed.id) == ["failed"]
