"""The delivery worker: claims due deliveries, sends them, records every attempt.

Exactly once: a delivery row exists once per (event, channel) (unique constraint, written
in the inbox transaction). A worker claims no more rows than it has free send slots, with
``FOR UPDATE SKIP LOCKED``, a lease and a per-claim token. Just before the provider call it
commits ``send_started_at`` (counting the attempt and renewing the lease) if the claim is
still its own; the whole call is bounded well below the lease; the attempt, the new state
and NotificationDispatched then commit in one transaction, again only if the claim is still
its own. A row abandoned before its send started goes back to pending; one abandoned after
(a crash mid-send) is failed "outcome unknown", never resent. A graceful stop returns the
rows not yet started to pending and lets the started sends finish and be recorded.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
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

    async def close(self) -> None:
        await self._sms.aclose()

    async def run(self) -> None:
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
                if self._inflight and not self._free_slots():
                    await asyncio.wait(
                        self._inflight,
                        timeout=self._settings.worker_poll_interval,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                else:
                    await asyncio.sleep(self._settings.worker_poll_interval)
        finally:
            await self._stop()

    def _free_slots(self) -> int:
        free = self._settings.worker_concurrency - len(self._inflight)
        return max(0, min(self._settings.worker_batch, free))

    async def run_once(self) -> int:
        """Claim as many due rows as there are free send slots and start delivering them
        (each in its own task); how many were claimed."""
        limit = self._free_slots()
        if not limit:
            return 0
        async with self._sessions() as session, session.begin():
            rows = await repository.claim_due(
                session, limit=limit, lease_seconds=self._settings.lease_seconds
            )
        for row in rows:
            task = asyncio.create_task(self._deliver(row), name=f"delivery-{row.id}")
            self._inflight[task] = row.claim_token
            task.add_done_callback(self._forget)
        return len(rows)

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

    async def _deliver(self, row: Row[Any]) -> None:
        try:
            await self._attempt(row)
        except Exception as exc:  # recorded nothing: the lease decides what becomes of it
            log.warning(
                "delivery_error",
                delivery_id=str(row.id),
                error_type=type(exc).__name__,
                error=str(exc),
            )

    async def _attempt(self, row: Row[Any]) -> None:
        attempt = row.attempts + 1
        try:
            prepared = self._prepare(row)
        except Exception as exc:
            # A template or data error: the same input fails the same way every time.
            prepared = SendResult(Outcome.PERMANENT, error=f"render: {type(exc).__name__}")
        started = datetime.now(UTC)
        if isinstance(prepared, SendResult):  # nothing to send: no provider call
            await self._record(row, attempt, prepared, started, None)
            return
        async with self._sessions() as session, session.begin():
            ours = await repository.start_send(
                session, row.id, row.claim_token, lease_seconds=self._settings.lease_seconds
            )
        if not ours:
            log.warning("delivery_claim_lost", delivery_id=str(row.id), sent=False)
            return
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
        values: dict[str, Any] = {"attempts": attempt, "last_error": result.error}
        if segments is not None:
            values["segments"], values["encoding"] = segments
        retry_at = (
            self._backoff.retry_at(attempt, row.created_at, now)
            if result.outcome is Outcome.TRANSIENT
            else None
        )
        if result.outcome is Outcome.SENT:
            values.update(
                status="sent", finished_at=now, provider_message_id=result.provider_message_id
            )
        elif retry_at is not None:
            values.update(status="pending", next_attempt_at=retry_at, send_started_at=None)
        else:
            values.update(status="failed", finished_at=now)
        record = repository.AttemptRecord(
            delivery_id=row.id,
            attempt=attempt,
            outcome=result.outcome.value,
            started_at=started,
            status_code=result.status_code,
            error=result.error,
            provider_message_id=result.provider_message_id,
        )
        updated = await self._commit_outcome(row, record, values)
        with structlog.contextvars.bound_contextvars(correlation_id=row.correlation_id):
            log.info(
                "delivery_attempted",
                delivery_id=str(row.id),
                source_event_id=str(row.source_event_id),
                channel=row.channel,
                template=row.template,
                attempt=attempt,
                outcome=result.outcome.value,
                delivery_status=values["status"],
                provider_status=result.status_code,  # "status_code" would be masked as a code
                error=result.error,
                lease_lost=updated is None,
            )

    async def _commit_outcome(
        self, row: Row[Any], attempt: repository.AttemptRecord, values: dict[str, Any]
    ) -> Row[Any] | None:
        # The message is out: keep trying to record it for half the lease (renewed when the
        # send started), since an unrecorded send is the one way to "outcome unknown".
        deadline = asyncio.get_running_loop().time() + self._settings.lease_seconds / 2
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await repository.record_attempt(session, attempt)  # what happened, always
                    # The state moves only if this claim still holds the row.
                    updated = await repository.finish(session, row.id, row.claim_token, **values)
                    if updated is not None and updated.status in ("sent", "failed"):
                        await repository.report(session, updated)
                return updated
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("delivery_record_retry", error_type=type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _reap_abandoned(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_reap < REAP_INTERVAL:
            return
        self._last_reap = now
        async with self._sessions() as session, session.begin():
            returned, failed = await repository.reclaim_abandoned(session)
            for row in failed:
                await repository.report(session, row)
        for delivery_id in returned:
            log.info("delivery_returned_unsent", delivery_id=str(delivery_id))
        for row in failed:
            log.warning("delivery_abandoned", delivery_id=str(row.id), channel=row.channel)


def build_worker(runtime: Runtime) -> DeliveryWorker:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return DeliveryWorker(
        settings,
        runtime.require_sessions(),
        sms=HttpSmsProvider(
            settings.sms_base_url,
            reveal(settings.sms_api_key.get_secret_value()),
            settings.sms_sender,
            timeout=settings.send_timeout,
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
