"""Email over SMTP (aiosmtplib): multipart plain text + HTML."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from sanad.notifications.channels.results import SendResult
from sanad.notifications.domain.retries import Outcome, smtp_code_outcome
from sanad.notifications.rendering import Email


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

    def message(self, to: str, email: Email, language: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = email.subject
        message["Content-Language"] = language
        message["Message-ID"] = make_msgid(domain="sanad.example")
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, to: str, email: Email, language: str) -> SendResult:
        message = self.message(to, email, language)
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
