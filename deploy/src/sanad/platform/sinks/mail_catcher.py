"""A mail catcher: a real SMTP server that keeps every message, and an HTTP API to read them.

Run: ``python -m sanad.platform.sinks.mail_catcher --host 127.0.0.1 --smtp-port 1025
--http-port 1080``

Both servers share one asyncio loop (aiosmtpd's protocol served by ``loop.create_server``
rather than its threaded ``Controller``), so the inbox needs no lock and SIGTERM stops both.

* SMTP: accepts any mail, no AUTH, no STARTTLS, SMTPUTF8 allowed.
* A message whose ``Message-ID`` it already holds is accepted (250) and not stored again,
  as a mailbox does with a copy it already has (IMAP servers and Gmail fold copies by
  Message-ID): a sender that resends after losing the server's answer — SMTP has no
  idempotency key — still leaves one message. ``GET /stats`` counts those duplicates.
* ``GET /messages[?to=addr]``, ``GET /messages/{id}``, ``DELETE /messages``, ``GET /stats``,
  ``GET /healthz``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse

from sanad.platform.sinks.sms_sink import (
    install_problem_handlers,
    log_line,
    now_iso,
    received_since,
    start_http,
)

SERVICE = "mail-catcher"
MAX_STORED = 10_000  # a long-running dev platform must not grow without bound
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]{1,500}>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(raw: bytes) -> bytes | None:
    """The Message-ID in the header block, found without parsing the MIME (which would cost
    milliseconds a message as it arrives)."""
    head, _, _ = raw.partition(b"\r\n\r\n")
    found = _MESSAGE_ID.search(head)
    return found.group(1) if found else None


def clean(text: str) -> str:
    """Make ``text`` encodable as UTF-8 JSON: undecodable bytes surface as lone surrogates."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def header(msg: Message, name: str) -> str | None:
    """A decoded header; its raw text if the structured parse fails on a malformed value."""
    try:
        value = msg.get(name)
    except Exception:  # the header registry can raise on pathological values
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else clean(str(value))


def body_part(msg: EmailMessage, subtype: str) -> str | None:
    """The decoded text/<subtype> body part (as a mail client would pick it), or None."""
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return None
    return clean(content.replace("\r\n", "\n"))  # SMTP's CRLF, back to what the sender wrote


def attachments(msg: EmailMessage) -> list[dict[str, Any]]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append(
            {
                "filename": clean(part.get_filename() or ""),
                "content_type": part.get_content_type(),
                "size": len(payload) if isinstance(payload, bytes) else 0,
            }
        )
    return found


def parse_message(raw: bytes, mail_from: str | None, rcpt_tos: list[str]) -> dict[str, Any]:
    """What the HTTP API shows for one received message."""
    stored: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "from": mail_from or "",
        "to": list(rcpt_tos),  # the envelope: every real recipient, Bcc included
        "subject": "",
        "text": "",
        "html": None,
        "received_at": now_iso(),
        "mail_from": mail_from or "",
        "headers": {},
        "attachments": [],
        "size": len(raw),
    }
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        stored["from"] = header(msg, "from") or stored["from"]
        stored["subject"] = header(msg, "subject") or ""
        stored["text"] = body_part(msg, "plain") or ""
        stored["html"] = body_part(msg, "html")
        stored["headers"] = {k: header(msg, k) for k in msg}
        stored["attachments"] = attachments(msg)
    except Exception:  # keep the mail even if it is malformed beyond parsing
        stored["text"] = raw.decode("utf-8", "replace")
    return stored


class Received:
    """One message as it arrived; parsed (for the HTTP API) only when first read.

    Parsing MIME costs milliseconds a message: doing it as mail arrives made the catcher,
    not the sender, the limit of how fast a service could send.
    """

    def __init__(self, raw: bytes, mail_from: str | None, rcpt_tos: list[str]) -> None:
        self.raw, self.mail_from, self.to = raw, mail_from, list(rcpt_tos)
        self.id, self.received_at = str(uuid.uuid4()), now_iso()
        self._parsed: dict[str, Any] | None = None

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.mail_from,
            "to": self.to,
            "received_at": self.received_at,
        }

    def view(self) -> dict[str, Any]:
        if self._parsed is None:
            parsed = parse_message(self.raw, self.mail_from, self.to)
            parsed.update(id=self.id, received_at=self.received_at)
            self._parsed = parsed
        return self._parsed


class Inbox:
    """The aiosmtpd handler: stores each message it is given."""

    def __init__(self) -> None:
        self.messages: deque[Received] = deque(maxlen=MAX_STORED)
        self._seen: OrderedDict[bytes, None] = OrderedDict()  # Message-IDs, oldest first
        self.duplicates = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
        message_id = message_id_of(raw)
        if message_id is not None:
            if message_id in self._seen:
                self.duplicates += 1  # a copy of one it has: accepted, kept once
                return "250 Message accepted for delivery"
            self._seen[message_id] = None
            while len(self._seen) > MAX_STORED:
                self._seen.popitem(last=False)
        self.messages.append(Received(raw, envelope.mail_from, envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()
        self._seen.clear()


def matches(message: Received, address: str) -> bool:
    # An unencoded '+' (user+tag@...) arrives as a space; addresses never contain one.
    wanted = address.strip().replace(" ", "+").lower()
    return any(rcpt.lower() == wanted for rcpt in message.to)


def create_app(inbox: Inbox) -> FastAPI:
    app = FastAPI(title="Sanad mail catcher", docs_url=None, redoc_url=None, openapi_url=None)
    install_problem_handlers(app)

    @app.get("/messages")
    async def list_messages(
        to: str | None = None, since: datetime | None = None, envelope: bool = False
    ) -> dict[str, list[dict[str, Any]]]:
        """Oldest first; ``to``: one recipient's; ``since``: received at or after (a caller
        reading a run's messages out of thousands parses only those); ``envelope``: only
        what the SMTP envelope said (id, from, to, received_at), nothing parsed — for a
        caller counting thousands of messages."""
        after = received_since(since)
        found = [
            m.envelope() if envelope else m.view()
            for m in inbox.messages
            if (to is None or matches(m, to)) and (after is None or after(m.received_at))
        ]
        return {"messages": found}

    @app.get("/messages/{message_id}")
    async def get_message(message_id: str) -> Response:
        for message in inbox.messages:
            if message.id == message_id:
                return JSONResponse(message.view())
        # Rendered as problem+json by the handlers installed above.
        raise HTTPException(status_code=404, detail=f"no message {message_id}")

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> Response:
        inbox.clear()
        return Response(status_code=204)

    @app.get("/stats")
    async def stats() -> dict[str, int]:
        return {"stored": len(inbox.messages), "duplicates": inbox.duplicates}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def smtp_factory(inbox: Inbox) -> Callable[[], SMTP]:
    loop = asyncio.get_running_loop()
    return lambda: SMTP(
        inbox,
        hostname="mail-catcher",  # else aiosmtpd calls socket.getfqdn(), which can stall
        ident="Sanad mail catcher",
        enable_SMTPUTF8=True,
        data_size_limit=MAX_MESSAGE_BYTES,
        loop=loop,
    )


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    try:
        smtp = await loop.create_server(smtp_factory(inbox), host, smtp_port)
    except OSError as exc:
        print(f"mail-catcher: cannot listen for SMTP on {host}:{smtp_port}: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    try:
        _server, task, bound_http = await start_http(create_app(inbox), host, http_port)
        bound_smtp = int(smtp.sockets[0].getsockname()[1])
        log_line(
            SERVICE,
            "mail_catcher.started",
            host=host,
            smtp_port=bound_smtp,
            http_port=bound_http,
            pid=os.getpid(),
        )
        await task  # returns once SIGTERM/SIGINT has shut the HTTP side down
    finally:
        smtp.close()
        # Bounded: wait_closed() can wait on a client that keeps its connection open.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(smtp.wait_closed(), timeout=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sanad mail catcher (SMTP + HTTP API)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=1080)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
