"""Email over SMTP (aiosmtplib): multipart plain text + HTML.

SMTP has no idempotency key: a timeout after DATA may hide a message the server accepted,
and the retry is then a second copy. Every copy of one delivery carries the same
Message-ID (from the delivery id), so such a duplicate is recognisable as the same message.
"""

from __future__ import annotations

from email.message import EmailMessage
from uuid import UUID

import aiosmtplib

from sanad.notifications.channels.results import SendResult
from sanad.notifications.domain.retries import Outcome, smtp_code_outcome
from sanad.notifications.rendering import Email

MESSAGE_ID_DOMAIN = "sanad.notifications"


def message_id_for(delivery_id: UUID) -> str:
    """The Message-ID of every send of one delivery (RFC 5322 ``<left@right>``)."""
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float,
        start_tls: bool = False,
        use_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout
        self._start_tls, self._use_tls = start_tls, use_tls
        self._username, self._password = username, password

    def message(self, to: str, email: Email, language: str, *, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = email.subject
        message["Content-Language"] = language
        message["Message-ID"] = message_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, to: str, email: Email, language: str, *, message_id: str) -> SendResult:
        message = self.message(to, email, language, message_id=message_id)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._start_tls,
                use_tls=self._use_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            outcome = smtp_code_outcome(max(codes, default=550))
            return SendResult(outcome, max(codes, default=None), "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(smtp_code_outcome(exc.code), exc.code, f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused, timeout, server gone: the server may be back soon.
            return SendResult(Outcome.TRANSIENT, error=f"connection: {type(exc).__name__}")
        return SendResult.sent(250, str(message["Message-ID"]))
