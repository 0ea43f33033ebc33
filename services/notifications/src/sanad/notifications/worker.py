"""The delivery worker: claims due deliveries, sends them, records every attempt.

Exactly once: a delivery row exists once per (event, channel) (unique constraint, written
in the inbox transaction). A worker claims no more rows than it has free send slots, with
``FOR UPDATE SKIP LOCKED``, a lease and a per-claim token; urgent rows (OTP codes) first.
Just before the provider calls it commits ``send_started_at`` (counting the attempt and
renewing the lease) for the rows whose claim is still its own, and sends only those; the
whole call is bounded well below the lease; the attempt, the new state and
NotificationDispatched then commit in one transaction, again only if the claim is still
its own. A row abandoned before its send started goes back to pending; one abandoned after
(a crash mid-send) is sent again with the same keys (SMS ``Idempotency-Key``, email
``Message-ID``: the delivery id), which the provider uses to keep it to one message. A
graceful stop returns the rows not yet started to pending and lets the started sends
finish and be recorded.

Each step works on many rows at once: one transaction claims a batch, one starts the sends
of the batch, and outcomes are recorded by a group commit (every outcome that arrives while
a record transaction is running goes into the next one). Per row, the guarantees above are
unchanged: every statement is conditional on that row's claim token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from sanad.notifications import repository
from sanad.notifications.channels.email import SmtpMailer, message_id_for
from sanad.notifications.channels.results import SendResult
from sanad.notifications.channels.sms import HttpSmsProvider, SmsProvider
from sanad.notifications.domain.addresses import is_e164, is_email
from sanad.notifications.domain.planning import Channel, Template
from sanad.notifications.domain.retries import Backoff, Outcome
from sanad.notifications.rendering import Renderer
from sanad.notifications.settings import NotificationsSettings
from sanad.shared.app import Runtime
from sanad.shared.crypto import SealedBoxError, unseal
from sanad.shared.db import SessionFactory
from sanad.shared.logging import get_logger
from sanad.shared.settings import reveal

log = get_logger(__name__)

REAP_INTERVAL = 1.0  # seconds between looks for abandoned rows (a lease is far longer)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message, ready for its one provider call."""

    send: Callable[[], Awaitable[SendResult]]
    segments: tuple[int, str] | None = None


@dataclass(frozen=True)
class _Done:
    """One attempt's outcome, waiting for the record transaction."""

    row: Row[Any]
    attempt: repository.AttemptRecord
    outcome: repository.Outcome


class _GroupCommit:
    """Records outcomes in batches: whatever arrived while the previous transaction ran.

    ``record`` returns once its outcome is committed (the row as it now is, or None if the
    claim no longer held it) or raises if it could not be.
    """

    def __init__(
        self, commit: Callable[[list[_Done]], Awaitable[list[Row[Any] | None]]], limit: int
    ) -> None:
        self._commit, self._limit = commit, limit
        self._waiting: list[tuple[_Done, asyncio.Future[Row[Any] | None]]] = []
        self._wake = asyncio.Event()

    async def record(self, done: _Done) -> Row[Any] | None:
        future: asyncio.Future[Row[Any] | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((done, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            if not self._waiting:
                self._wake.clear()
            batch = [(d, f) for d, f in batch if not f.done()]  # a cancelled waiter
            if not batch:
                continue
            try:
                results = await self._commit([d for d, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


class DeliveryWorker:
    def __init__(
        self,
        settings: NotificationsSettings,
        sessions: SessionFactory,
        *,
        sms: SmsProvider,
        mailer: SmtpMailer,
        renderer: Renderer,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._sms = sms
        self._mailer = mailer
        self._renderer = renderer
        self._backoff = Backoff(
            settings.retry_first_delay,
            settings.retry_max_delay,
            settings.retry_give_up_after_seconds,
            settings.max_attempts,
        )
        # Each running delivery and the claim token of its row.
        self._inflight: dict[asyncio.Task[None], UUID] = {}
        self._last_reap = float("-inf")
        self._recorder = _GroupCommit(self._commit_outcomes, limit=settings.worker_batch)

    async def close(self) -> None:
        await self._sms.aclose()
        await self._mailer.aclose()

    async def run(self) -> None:
        recorder = asyncio.create_task(self._recorder.run(), name="delivery-recorder")
        try:
            while True:
                try:
                    await self._reap_abandoned()
                    wanted = self._free_slots()
                    claimed = await self.run_once() if wanted else 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database is away: wait, do not die
                    log.warning(
                        "delivery_worker_error", error_type=type(exc).__name__, error=str(exc)
                    )
                    await asyncio.sleep(1.0)
                    continue
                if wanted and claimed == wanted:
                    continue  # there may be more due: claim again as slots allow
                await self._wait_for_slots()
        finally:
            try:
                await self._stop()
            finally:
                recorder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recorder

    async def _wait_for_slots(self) -> None:
        """Until a poll interval has passed or enough sends ended to claim a useful batch
        (a quarter of it), so that a busy worker claims in batches, not row by row."""
        deadline = asyncio.get_running_loop().time() + self._settings.worker_poll_interval
        enough = max(1, min(self._settings.worker_batch, self._settings.worker_concurrency) // 4)
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            if not self._inflight:
                await asyncio.sleep(left)
                return
            if self._free_slots() >= enough:
                return
            await asyncio.wait(self._inflight, timeout=left, return_when=asyncio.FIRST_COMPLETED)

    def _free_slots(self) -> int:
        free = self._settings.worker_concurrency - len(self._inflight)
        return max(0, min(self._settings.worker_batch, free))

    @property
    def in_flight(self) -> int:
        """Claimed rows not yet recorded (or given up on) by this worker."""
        return len(self._inflight)

    async def run_once(self) -> int:
        """Claim as many due rows as there are free send slots, start their sends in one
        transaction and deliver each in its own task; how many were claimed."""
        limit = self._free_slots()
        if not limit:
            return 0
        async with self._sessions() as session, session.begin():
            rows = await repository.claim_due(
                session, limit=limit, lease_seconds=self._settings.lease_seconds
            )
        if not rows:
            return 0
        prepared = {row.id: self._prepare_or_fail(row) for row in rows}
        claims = [(r.id, r.claim_token) for r in rows if isinstance(prepared[r.id], Outgoing)]
        # Its own task: a stop (cancelling run) neither cuts it nor leaves the rows waiting.
        start = asyncio.create_task(self._start(claims), name="delivery-start")
        for row in rows:
            task = asyncio.create_task(
                self._deliver(row, prepared[row.id], start), name=f"delivery-{row.id}"
            )
            self._inflight[task] = row.claim_token
            task.add_done_callback(self._forget)
        return len(rows)

    async def _start(self, claims: list[tuple[UUID, UUID]]) -> set[UUID]:
        """Commit the send start of the claims still held; the ids that may be sent."""
        if not claims:
            return set()
        async with self._sessions() as session, session.begin():
            return await repository.start_sends(
                session, claims, lease_seconds=self._settings.lease_seconds
            )

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)

    async def _stop(self) -> None:
        """Graceful stop: rows not started go back to pending; started sends finish."""
        tasks = dict(self._inflight)
        if not tasks:
            return
        try:
            try:
                async with self._sessions() as session, session.begin():
                    released = await repository.release_unstarted(session, set(tasks.values()))
                log.info("deliveries_released", count=len(released))
            except Exception as exc:  # they go back to pending when their lease expires
                log.warning("delivery_release_failed", error_type=type(exc).__name__)
            await asyncio.wait(tasks)
        finally:
            # Cancelled again (the stop's time is up): a send cut here is "outcome unknown".
            for task in tasks:
                task.cancel()

    async def _deliver(
        self, row: Row[Any], prepared: Outgoing | SendResult, start: asyncio.Task[set[UUID]]
    ) -> None:
        try:
            await self._attempt(row, prepared, start)
        except Exception as exc:  # recorded nothing: the lease decides what becomes of it
            log.warning(
                "delivery_error",
                delivery_id=str(row.id),
                error_type=type(exc).__name__,
                error=str(exc),
            )

    async def _attempt(
        self, row: Row[Any], prepared: Outgoing | SendResult, start: asyncio.Task[set[UUID]]
    ) -> None:
        attempt = row.attempts + 1
        if isinstance(prepared, SendResult):  # nothing to send: no provider call
            await self._record(row, attempt, prepared, datetime.now(UTC), None)
            return
        if row.id not in await asyncio.shield(start):
            log.warning("delivery_claim_lost", delivery_id=str(row.id), sent=False)
            return
        started = datetime.now(UTC)
        try:
            # Per-operation client timeouts do not bound a whole call: this does, far below
            # the lease, so the row cannot be taken over while its send is still running.
            async with asyncio.timeout(self._settings.send_timeout):
                result = await prepared.send()
        except TimeoutError:
            result = SendResult(Outcome.TRANSIENT, error="timeout: the send took too long")
        except Exception as exc:  # channels classify failures; this is a bug, do not resend
            result = SendResult(Outcome.PERMANENT, error=f"send: {type(exc).__name__}")
        await self._record(row, attempt, result, started, prepared.segments)

    def _prepare_or_fail(self, row: Row[Any]) -> Outgoing | SendResult:
        try:
            return self._prepare(row)
        except Exception as exc:
            # A template or data error: the same input fails the same way every time.
            return SendResult(Outcome.PERMANENT, error=f"render: {type(exc).__name__}")

    def _prepare(self, row: Row[Any]) -> Outgoing | SendResult:
        """The message to send, or why there is none (a permanent failure)."""
        template, language = Template(row.template), row.language
        context: dict[str, Any] = dict(row.context)
        if template is Template.OTP:
            try:
                code = unseal(
                    reveal(self._settings.otp_private_key.get_secret_value()),
                    context.pop("encrypted_code"),
                )
            except (SealedBoxError, ValueError):
                return SendResult(Outcome.PERMANENT, error="the OTP token cannot be opened")
            context["code"] = code.decode()
        if row.channel == Channel.SMS:
            if not is_e164(row.recipient):
                return SendResult(Outcome.PERMANENT, error="invalid address: not E.164")
            sms = self._renderer.sms(template, language, context)
            send = functools.partial(
                self._sms.send, row.recipient, sms.body, idempotency_key=str(row.id)
            )
            return Outgoing(send, (sms.segments.segments, sms.segments.encoding))
        if not is_email(row.recipient):
            return SendResult(Outcome.PERMANENT, error="invalid address: not an email")
        email = self._renderer.email(template, language, context)
        return Outgoing(
            functools.partial(
                self._mailer.send, row.recipient, email, language, message_id=message_id_for(row.id)
            )
        )

    async def _record(
        self,
        row: Row[Any],
        attempt: int,
        result: SendResult,
        started: datetime,
        segments: tuple[int, str] | None,
    ) -> None:
        now = datetime.now(UTC)
        retry_at = (
            self._backoff.retry_at(attempt, row.created_at, now)
            if result.outcome is Outcome.TRANSIENT
            else None
        )
        if result.outcome is Outcome.SENT:
            status = "sent"
        elif retry_at is not None:
            status = "pending"
        else:
            status = "failed"
        outcome = repository.Outcome(
            delivery_id=row.id,
            claim_token=row.claim_token,
            status=status,
            attempts=attempt,
            last_error=result.error,
            next_attempt_at=retry_at,
            provider_message_id=result.provider_message_id if status == "sent" else None,
            segments=None if segments is None else segments[0],
            encoding=None if segments is None else segments[1],
        )
        record = repository.AttemptRecord(
            delivery_id=row.id,
            attempt=attempt,
            outcome=result.outcome.value,
            started_at=started,
            status_code=result.status_code,
            error=result.error,
            provider_message_id=result.provider_message_id,
        )
        updated = await self._recorder.record(_Done(row, record, outcome))
        log.info(
            "delivery_attempted",
            correlation_id=row.correlation_id,
            delivery_id=str(row.id),
            source_event_id=str(row.source_event_id),
            channel=row.channel,
            template=row.template,
            attempt=attempt,
            outcome=result.outcome.value,
            delivery_status=status,
            provider_status=result.status_code,  # "status_code" would be masked as a code
            error=result.error,
            lease_lost=updated is None,
        )

    async def _commit_outcomes(self, batch: list[_Done]) -> list[Row[Any] | None]:
        """One transaction for the batch; if it fails for a reason other than the database
        being away, each outcome on its own, so one bad row cannot hold up the others."""
        try:
            return await self._commit_with_retries(batch)
        except Exception:
            if len(batch) == 1:
                raise
        results: list[Row[Any] | None] = []
        for done in batch:
            try:
                results.extend(await self._commit_with_retries([done]))
            except Exception as exc:
                log.warning(
                    "delivery_record_failed",
                    delivery_id=str(done.row.id),
                    error_type=type(exc).__name__,
                )
                results.append(None)
        return results

    async def _commit_with_retries(self, batch: list[_Done]) -> list[Row[Any] | None]:
        # The messages are out: keep trying to record them for half the lease (renewed
        # when the sends started), since an unrecorded send is the one way to "outcome
        # unknown".
        deadline = asyncio.get_running_loop().time() + self._settings.lease_seconds / 2
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    # What happened, always; the state moves only where the claim still holds.
                    recorded = await repository.record_outcomes(
                        session, [d.attempt for d in batch], [d.outcome for d in batch]
                    )
                    moved = {r.id: r for r in recorded}
                    ended = [r for r in moved.values() if r.status in ("sent", "failed")]
                    await repository.report_many(session, ended)
                return [moved.get(d.row.id) for d in batch]
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("delivery_record_retry", error_type=type(exc).__name__, error=str(exc))
                await asyncio.sleep(1.0)

    async def _reap_abandoned(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_reap < REAP_INTERVAL:
            return
        self._last_reap = now
        async with self._sessions() as session, session.begin():
            returned, interrupted = await repository.reclaim_abandoned(session)
        for delivery_id in returned:
            log.info("delivery_returned_unsent", delivery_id=str(delivery_id))
        for delivery_id in interrupted:
            log.warning("delivery_interrupted_resending", delivery_id=str(delivery_id))


def build_worker(runtime: Runtime) -> DeliveryWorker:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return worker_for(settings, runtime.require_sessions())


def worker_for(settings: NotificationsSettings, sessions: SessionFactory) -> DeliveryWorker:
    """The worker with the providers its settings name (the service's, or a benchmark's)."""
    return DeliveryWorker(
        settings,
        sessions,
        sms=HttpSmsProvider(
            settings.sms_base_url,
            reveal(settings.sms_api_key.get_secret_value()),
            settings.sms_sender,
            timeout=settings.send_timeout,
            pool_size=settings.sms_connections,
        ),
        mailer=SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            timeout=settings.send_timeout,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=None
            if settings.smtp_password is None
            else reveal(settings.smtp_password.get_secret_value()),
            pool_size=settings.smtp_connections,
        ),
        renderer=Renderer(portal_url=settings.portal_url),
    )


async def delivery_worker(runtime: Runtime) -> None:
    """Background task of the service process: delivers until the process stops."""
    worker = build_worker(runtime)
    try:
        await worker.run()
    finally:
        await worker.close()
