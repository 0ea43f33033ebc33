"""Email over SMTP (aiosmtplib): multipart plain text + HTML, over pooled SMTP sessions.

Opening an SMTP session (connect, greeting, EHLO, STARTTLS, AUTH) costs several round
trips; a session is kept and reused for many messages (``pool_size`` at most open at once).
A session that fails or is cut in any way (an error, a reply refused, the send's timeout)
is closed, never reused: its state is unknown. One idle for a while is checked with NOOP
before it is used, so a session the server dropped is replaced rather than failing a send.

SMTP has no idempotency key: a timeout after DATA may hide a message the server accepted,
and the retry is then a second copy. Every copy of one delivery carries the same
Message-ID (from the delivery id), so such a duplicate is recognisable as the same message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections.abc import AsyncIterator
from email.utils import formataddr, formatdate, parseaddr
from uuid import UUID

import aiosmtplib

from sanad.notifications.channels.results import SendResult
from sanad.notifications.domain.retries import Outcome, smtp_code_outcome
from sanad.notifications.rendering import Email

MESSAGE_ID_DOMAIN = "sanad.notifications"
IDLE_CHECK_AFTER = 5.0  # seconds idle after which a pooled session is checked with NOOP
MESSAGES_PER_SESSION = 500  # then the session is closed and a new one opened


def message_id_for(delivery_id: UUID) -> str:
    """The Message-ID of every send of one delivery (RFC 5322 ``<left@right>``)."""
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def encoded_words(text: str) -> str:
    """A header value as RFC 2047 encoded words (UTF-8, base64), folded; ASCII as it is.

    ``text`` is one line (the renderer collapses a subject's whitespace)."""
    if text.isascii() and len(text) <= 900:
        return text
    words, chunk = [], ""
    for char in text:  # at most 45 bytes a word: 60 base64 characters, 72 with the markers
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def _part(subtype: str, content: str) -> str:
    encoded = base64.encodebytes(content.encode()).decode().replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f"\r\n{encoded}"
    )


class _Session:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.sent = 0
        self.last_used = asyncio.get_running_loop().time()


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
        pool_size: int = 10,
    ) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout
        self._start_tls, self._use_tls = start_tls, use_tls
        self._username, self._password = username, password
        name, address = parseaddr(sender)
        self._envelope_sender = address  # MAIL FROM: the address alone
        self._from_header = formataddr((name, address), charset="utf-8")  # RFC 2047 if needed
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_Session] = []

    def message(self, to: str, email: Email, language: str, *, message_id: str) -> bytes:
        """The message as sent: multipart/alternative, UTF-8 parts in base64, the subject in
        RFC 2047 encoded words. Built directly: the ``email`` package folds and re-encodes
        every header as it flattens, milliseconds a message at this rate."""
        boundary = f"=_sanad_{uuid.uuid4().hex}"
        head = (
            f"From: {self._from_header}\r\n"
            f"To: {to}\r\n"
            f"Subject: {encoded_words(email.subject)}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"Content-Language: {language}\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            "\r\n"
        )
        parts = [_part("plain", email.text), _part("html", email.html)]
        body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
        return (head + body).encode("ascii")

    async def send(self, to: str, email: Email, language: str, *, message_id: str) -> SendResult:
        message = self.message(to, email, language, message_id=message_id)
        try:
            async with self._session() as client:
                await client.sendmail(self._envelope_sender, [to], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            outcome = smtp_code_outcome(max(codes, default=550))
            return SendResult(outcome, max(codes, default=None), "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(smtp_code_outcome(exc.code), exc.code, f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused, timeout, server gone: the server may be back soon.
            return SendResult(Outcome.TRANSIENT, error=f"connection: {type(exc).__name__}")
        return SendResult.sent(250, message_id)

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected session for one message; back to the pool only if all went well."""
        async with self._slots:
            session = await self._take()
            try:
                yield session.client
            except BaseException:
                session.client.close()  # an error or a cancelled send: state unknown
                raise
            session.sent += 1
            session.last_used = asyncio.get_running_loop().time()
            if session.sent >= MESSAGES_PER_SESSION:
                await self._quit(session)
            else:
                self._idle.append(session)

    async def _take(self) -> _Session:
        now = asyncio.get_running_loop().time()
        while self._idle:
            session = self._idle.pop()  # the most recently used: the likeliest alive
            if not session.client.is_connected:
                continue
            if now - session.last_used < IDLE_CHECK_AFTER:
                return session
            try:
                await session.client.noop()
                return session
            except (aiosmtplib.SMTPException, OSError):
                session.client.close()
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._start_tls,
            use_tls=self._use_tls,
            timeout=self._timeout,
        )
        await client.connect()
        return _Session(client)

    async def _quit(self, session: _Session) -> None:
        try:
            await session.client.quit()
        except (aiosmtplib.SMTPException, OSError):
            session.client.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for session in idle:
            await self._quit(session)
