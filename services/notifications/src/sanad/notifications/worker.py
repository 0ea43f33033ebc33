"""The delivery worker: claims due deliveries, sends them, records every attempt.

Exactly once: a delivery row exists once per (event, channel) (unique constraint, written
in the inbox transaction). A worker claims rows with ``FOR UPDATE SKIP LOCKED`` and a lease,
so two instances never hold the same row; after the provider answers, the attempt and the
new state (and NotificationDispatched) commit in one short transaction. The one window is a
crash after the provider accepted a message and before that commit: the row stays
'sending' until its lease expires and is then marked failed ("outcome unknown"), never
resent, so a message may be lost there but is never sent twice. A graceful stop (SIGTERM)
finishes and records the sends in flight before exiting, so only a hard crash opens it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Row

from sanad.notifications import repository
from sanad.notifications.channels.email import SmtpMailer
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
            settings.retry_first_delay, settings.retry_max_delay, settings.max_attempts
        )
        self._limit = asyncio.Semaphore(settings.worker_concurrency)

    async def close(self) -> None:
        await self._sms.aclose()

    async def run(self) -> None:
        while True:
            try:
                await self._give_up_abandoned()
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: wait, do not die
                log.warning("delivery_worker_error", error_type=type(exc).__name__, error=str(exc))
                claimed = 0
                await asyncio.sleep(1.0)
            if claimed < self._settings.worker_batch:
                await asyncio.sleep(self._settings.worker_poll_interval)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; how many were claimed."""
        async with self._sessions() as session, session.begin():
            rows = await repository.claim_due(
                session,
                limit=self._settings.worker_batch,
                lease_seconds=self._settings.lease_seconds,
            )
        if not rows:
            return 0
        tasks = [asyncio.ensure_future(self._deliver(row)) for row in rows]
        try:
            await asyncio.shield(asyncio.gather(*tasks))
        except asyncio.CancelledError:
            # Stopping: let the sends in flight finish and be recorded, then stop.
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return len(rows)

    async def _deliver(self, row: Row[Any]) -> None:
        async with self._limit:
            started = datetime.now(UTC)
            segments: tuple[int, str] | None = None
            try:
                result, segments = await self._send(row)
            except Exception as exc:
                # A template or data error: the same input fails the same way every time.
                result = SendResult(Outcome.PERMANENT, error=f"render: {type(exc).__name__}")
            await self._record(row, result, started, segments)

    async def _send(self, row: Row[Any]) -> tuple[SendResult, tuple[int, str] | None]:
        template, language = Template(row.template), row.language
        context: dict[str, Any] = dict(row.context)
        if template is Template.OTP:
            try:
                code = unseal(
                    reveal(self._settings.otp_private_key.get_secret_value()),
                    context.pop("encrypted_code"),
                )
            except (SealedBoxError, ValueError):
                return SendResult(Outcome.PERMANENT, error="the OTP token cannot be opened"), None
            context["code"] = code.decode()
        if row.channel == Channel.SMS:
            if not is_e164(row.recipient):
                return SendResult(Outcome.PERMANENT, error="invalid address: not E.164"), None
            sms = self._renderer.sms(template, language, context)
            result = await self._sms.send(row.recipient, sms.body)
            return result, (sms.segments.segments, sms.segments.encoding)
        if not is_email(row.recipient):
            return SendResult(Outcome.PERMANENT, error="invalid address: not an email"), None
        email = self._renderer.email(template, language, context)
        return await self._mailer.send(row.recipient, email, language), None

    async def _record(
        self,
        row: Row[Any],
        result: SendResult,
        started: datetime,
        segments: tuple[int, str] | None,
    ) -> None:
        values: dict[str, Any] = {"last_error": result.error}
        if segments is not None:
            values["segments"], values["encoding"] = segments
        if result.outcome is Outcome.SENT:
            values.update(
                status="sent",
                finished_at=datetime.now(UTC),
                provider_message_id=result.provider_message_id,
            )
        elif result.outcome is Outcome.TRANSIENT and not self._backoff.gives_up(row.attempts):
            delay = self._backoff.delay(row.attempts)
            values.update(
                status="pending", next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay)
            )
        else:
            values.update(status="failed", finished_at=datetime.now(UTC))
        attempt = repository.AttemptRecord(
            delivery_id=row.id,
            attempt=row.attempts,
            outcome=result.outcome.value,
            started_at=started,
            status_code=result.status_code,
            error=result.error,
            provider_message_id=result.provider_message_id,
        )
        updated = await self._commit_outcome(row, attempt, values)
        with structlog.contextvars.bound_contextvars(correlation_id=row.correlation_id):
            log.info(
                "delivery_attempted",
                delivery_id=str(row.id),
                source_event_id=str(row.source_event_id),
                channel=row.channel,
                template=row.template,
                attempt=row.attempts,
                outcome=result.outcome.value,
                delivery_status=values["status"],
                provider_status=result.status_code,  # "status_code" would be masked as a code
                error=result.error,
                lease_lost=updated is None,
            )

    async def _commit_outcome(
        self, row: Row[Any], attempt: repository.AttemptRecord, values: dict[str, Any]
    ) -> Row[Any] | None:
        # The message is out: keep trying to record it for most of the lease, since an
        # unrecorded send is the one way a delivery ends up "outcome unknown".
        deadline = asyncio.get_running_loop().time() + self._settings.lease_seconds / 2
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    await repository.record_attempt(session, attempt)
                    updated = await repository.finish(session, row.id, **values)
                    if updated is not None and updated.status in ("sent", "failed"):
                        await repository.report(session, updated)
                return updated
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("delivery_record_retry", error_type=type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _give_up_abandoned(self) -> None:
        async with self._sessions() as session, session.begin():
            rows: Sequence[Row[Any]] = await repository.fail_abandoned(session)
            for row in rows:
                await repository.report(session, row)
        for row in rows:
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
