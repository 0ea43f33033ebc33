"""The SMS sink and the mail catcher, each run as a real process on free ports."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from sanad.platform.sinks.sms_sink import Remembered

API_KEY = "test-sms-key"
PROBLEM_JSON = "application/problem+json"


def free_port() -> int:
    # Bind to port 0 so the OS picks a free one (never the platform's 8025/1025/1080).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    process: subprocess.Popen[str]
    http: httpx.Client


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit code and stdout; kill only if it will not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, out


@contextmanager
def run_sink(
    module: str, args: list[str], http_port: int, env: dict[str, str] | None = None
) -> Iterator[Sink]:
    process = subprocess.Popen(
        [sys.executable, "-m", f"sanad.platform.sinks.{module}", "--host", "127.0.0.1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=5)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited early: {process.communicate()[1][-2000:]}")
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not answer /healthz in 30s")
            time.sleep(0.05)
        yield Sink(process, http)
    finally:
        http.close()
        stop(process)


def number() -> str:
    """A fresh Saudi mobile number, so tests never see each other's messages."""
    return "+9665" + str(uuid.uuid4().int)[:8]


# --- SMS sink -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sms_sink() -> Iterator[Sink]:
    port = free_port()
    with run_sink("sms_sink", ["--port", str(port), "--api-key", API_KEY], port) as sink:
        yield sink


@pytest.fixture
def sms(sms_sink: Sink) -> Iterator[httpx.Client]:
    sms_sink.http.delete("/control/failures")
    sms_sink.http.delete("/messages")
    yield sms_sink.http


def send_sms(
    client: httpx.Client,
    to: str,
    body: str,
    key: str | None = API_KEY,
    idempotency_key: str | None = None,
    timeout: float = 5.0,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return client.post(
        "/api/v1/messages",
        headers=headers,
        json={"to": to, "sender": "SANAD", "body": body},
        timeout=timeout,
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    return dict(problem)


def test_sms_accepted_and_stored(sms: httpx.Client) -> None:
    to = number()
    response = send_sms(sms, to, "Your Sanad code is 482913")
    assert response.status_code == 202
    accepted = response.json()
    assert uuid.UUID(accepted["id"])
    assert accepted["segments"] == 1
    assert accepted["encoding"] == "GSM-7"

    stored = sms.get("/messages", params={"to": to}).json()["messages"]
    assert len(stored) == 1
    message = stored[0]
    assert message["id"] == accepted["id"]
    assert (message["to"], message["sender"]) == (to, "SANAD")
    assert message["body"] == "Your Sanad code is 482913"
    assert (message["segments"], message["encoding"]) == (1, "GSM-7")
    assert datetime.fromisoformat(message["received_at"]).utcoffset() is not None


def test_sms_bad_number_names_the_field(sms: httpx.Client) -> None:
    for bad in ("0512345678", "+0512345678", "+9665١٢٣٤٥٦٧٨", "+96651234567\n"):
        problem = assert_problem(send_sms(sms, bad, "hello"), 400)
        assert [e["field"] for e in problem["errors"]] == ["to"]
    assert sms.get("/messages").json()["messages"] == []


def test_sms_other_invalid_bodies(sms: httpx.Client) -> None:
    assert_problem(send_sms(sms, number(), ""), 400)
    problem = assert_problem(send_sms(sms, number(), "a" * 1601), 400)
    assert problem["errors"] == [{"field": "body", "message": "must be at most 1600 chars"}]
    assert send_sms(sms, number(), "a" * 1600).status_code == 202
    auth = {"Authorization": f"Bearer {API_KEY}"}
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 50_000):  # last: too deep
        assert_problem(sms.post("/api/v1/messages", headers=auth, content=raw), 400)
    assert_problem(sms.post("/api/v1/messages", headers=auth, content=b" " * 70_000), 413)
    assert sms.get("/healthz").status_code == 200


def test_sms_bad_or_missing_api_key(sms: httpx.Client) -> None:
    assert_problem(send_sms(sms, number(), "hello", key="wrong"), 401)
    response = send_sms(sms, number(), "hello", key=None)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_sms_arabic_is_ucs2(sms: httpx.Client) -> None:
    short = "رمز التحقق: 482913"
    assert send_sms(sms, number(), short).json()["encoding"] == "UCS-2"
    long = short * 4  # 72 UCS-2 characters: over 70, so two 67-character parts
    assert len(long) == 72
    accepted = send_sms(sms, number(), long).json()
    assert (accepted["segments"], accepted["encoding"]) == (2, "UCS-2")


def test_sms_161_gsm_characters_make_two_segments(sms: httpx.Client) -> None:
    assert send_sms(sms, number(), "a" * 160).json()["segments"] == 1
    accepted = send_sms(sms, number(), "a" * 161).json()
    assert (accepted["segments"], accepted["encoding"]) == (2, "GSM-7")


def test_sms_failure_injection(sms: httpx.Client) -> None:
    to = number()
    planned = sms.post("/control/failures", json={"status": 500, "count": 2})
    assert planned.status_code == 200
    assert planned.json() == {"status": 500, "remaining": 2, "to": None}
    assert_problem(send_sms(sms, to, "first"), 500)
    assert_problem(send_sms(sms, to, "second"), 500)
    assert send_sms(sms, to, "third").status_code == 202
    assert [m["body"] for m in sms.get("/messages", params={"to": to}).json()["messages"]] == [
        "third"
    ]

    # A permanent rejection, then cleared before it is used up.
    sms.post("/control/failures", json={"status": 422, "count": 5})
    assert_problem(send_sms(sms, to, "rejected"), 422)
    assert sms.delete("/control/failures").status_code == 204
    assert send_sms(sms, to, "after clear").status_code == 202
    assert_problem(sms.post("/control/failures", json={"status": 200}), 400)


def test_sms_failure_injection_for_one_number_spares_the_others(sms: httpx.Client) -> None:
    target, bystander = number(), number()
    planned = sms.post("/control/failures", json={"status": 503, "count": 1, "to": target})
    assert planned.json() == {"status": 503, "remaining": 1, "to": target}
    assert send_sms(sms, bystander, "unaffected").status_code == 202
    assert_problem(send_sms(sms, target, "fails"), 503)
    assert send_sms(sms, target, "then passes").status_code == 202
    bad = sms.post("/control/failures", json={"status": 500, "count": 1, "to": "0501234567"})
    assert_problem(bad, 400)
    assert bad.json()["errors"] == [{"field": "to", "message": "must be an E.164 number"}]


def test_sms_repeated_idempotency_key_answers_the_original_and_stores_nothing(
    sms: httpx.Client,
) -> None:
    to, key = number(), str(uuid.uuid4())
    first = send_sms(sms, to, "Your application is approved", idempotency_key=key)
    assert first.status_code == 202
    assert "idempotent-replayed" not in first.headers
    again = send_sms(sms, to, "Your application is approved", idempotency_key=key)
    assert again.status_code == 202
    assert again.json() == first.json()  # the original id, segments and encoding
    assert again.headers["idempotent-replayed"] == "true"

    [stored] = sms.get("/messages", params={"to": to}).json()["messages"]
    assert (stored["id"], stored["idempotency_key"]) == (first.json()["id"], key)

    # Another key, or none at all, is another message.
    other = send_sms(sms, to, "Your application is approved", idempotency_key=str(uuid.uuid4()))
    assert other.json()["id"] != first.json()["id"]
    send_sms(sms, to, "no key")
    send_sms(sms, to, "no key")
    assert len(sms.get("/messages", params={"to": to}).json()["messages"]) == 4


def test_sms_failed_call_does_not_use_up_its_idempotency_key(sms: httpx.Client) -> None:
    to, key = number(), str(uuid.uuid4())
    sms.post("/control/failures", json={"status": 503, "count": 1, "to": to})
    assert_problem(send_sms(sms, to, "retried", idempotency_key=key), 503)
    assert send_sms(sms, to, "retried", idempotency_key=key).status_code == 202
    assert len(sms.get("/messages", params={"to": to}).json()["messages"]) == 1


def test_sms_invalid_idempotency_key_names_the_header(sms: httpx.Client) -> None:
    for bad in ("has space", "x" * 256, "é"):
        headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": bad}
        response = sms.post(
            "/api/v1/messages",
            headers={k: v.encode() for k, v in headers.items()},  # bytes: any header value
            json={"to": number(), "sender": "SANAD", "body": "hello"},
        )
        problem = assert_problem(response, 400)
        assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert sms.get("/messages").json()["messages"] == []


def test_sms_latency_stores_at_once_and_answers_late(sms: httpx.Client) -> None:
    to, key = number(), str(uuid.uuid4())
    planned = sms.post("/control/latency", json={"seconds": 1.5, "count": 1, "to": to})
    assert planned.json() == {"seconds": 1.5, "remaining": 1, "to": to}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up; the provider has it
        send_sms(sms, to, "slow", idempotency_key=key, timeout=0.5)
    assert len(sms.get("/messages", params={"to": to}).json()["messages"]) == 1
    retry = send_sms(sms, to, "slow", idempotency_key=key)  # at once: the key is known
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(sms.get("/messages", params={"to": to}).json()["messages"]) == 1
    assert_problem(sms.post("/control/latency", json={"seconds": 31}), 400)
    assert sms.delete("/control/latency").status_code == 204


def test_sms_filter_by_recipient(sms: httpx.Client) -> None:
    first, second = number(), number()
    for to, body in ((first, "one"), (second, "two"), (first, "three")):
        assert send_sms(sms, to, body).status_code == 202

    bodies = [m["body"] for m in sms.get("/messages", params={"to": first}).json()["messages"]]
    assert bodies == ["one", "three"]  # oldest first
    # An unencoded '+' arrives as a space; the sink reads it as the '+' that was meant.
    unencoded = sms.get(f"/messages?to={first}").json()["messages"]
    assert [m["body"] for m in unencoded] == ["one", "three"]
    assert len(sms.get("/messages").json()["messages"]) == 3

    assert sms.delete("/messages").status_code == 204
    assert sms.get("/messages").json() == {"messages": []}


def test_sms_filter_by_time_received(sms: httpx.Client) -> None:
    to = number()
    assert send_sms(sms, to, "before").status_code == 202
    since = datetime.now(UTC).isoformat()
    assert send_sms(sms, to, "after").status_code == 202

    after = sms.get("/messages", params={"since": since}).json()["messages"]
    assert [m["body"] for m in after] == ["after"]
    assert [m["body"] for m in sms.get("/messages", params={"to": to}).json()["messages"]] == [
        "before",
        "after",
    ]
    assert sms.get("/messages", params={"since": "2999-01-01T00:00:00"}).json()["messages"] == []
    assert sms.get("/messages", params={"since": "yesterday"}).status_code == 422


def test_sms_sink_api_key_from_env_and_clean_sigterm() -> None:
    port = free_port()
    with run_sink(
        "sms_sink", ["--port", str(port)], port, env={"SANAD_SMS_SINK_API_KEY": "from-env"}
    ) as sink:
        assert send_sms(sink.http, number(), "hi", key="from-env").status_code == 202
        assert send_sms(sink.http, number(), "hi", key="sms-dev-key").status_code == 401
        code, out = stop(sink.process)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    started = json.loads(lines[0])
    assert (started["event"], started["port"]) == ("sms_sink.started", port)
    assert "from-env" not in out  # the key is never logged


# --- mail catcher -------------------------------------------------------------------------


@dataclass
class Mail:
    http: httpx.Client
    smtp_port: int


@pytest.fixture(scope="module")
def catcher() -> Iterator[Mail]:
    smtp_port, http_port = free_port(), free_port()
    args = ["--smtp-port", str(smtp_port), "--http-port", str(http_port)]
    with run_sink("mail_catcher", args, http_port) as sink:
        yield Mail(sink.http, smtp_port)


@pytest.fixture
def mail(catcher: Mail) -> Mail:
    catcher.http.delete("/messages")
    return catcher


def arabic_email(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "سند <no-reply@sanad.example>"
    message["To"] = to
    message["Subject"] = "رمز التحقق الخاص بك"
    message.set_content("مرحبا،\nرمز التحقق هو 482913.\n")
    message.add_alternative(
        '<p dir="rtl">مرحبا، رمز التحقق هو <b>482913</b>.</p>\n', subtype="html"
    )
    return message


def test_mail_multipart_arabic_round_trip(mail: Mail) -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
        smtp.send_message(arabic_email("citizen@example.com"))

    found = mail.http.get("/messages", params={"to": "citizen@example.com"}).json()["messages"]
    assert len(found) == 1
    message = found[0]
    assert message["subject"] == "رمز التحقق الخاص بك"
    assert message["from"] == "سند <no-reply@sanad.example>"
    assert message["to"] == ["citizen@example.com"]
    assert message["text"] == "مرحبا،\nرمز التحقق هو 482913.\n"
    assert message["html"] == '<p dir="rtl">مرحبا، رمز التحقق هو <b>482913</b>.</p>\n'
    assert datetime.fromisoformat(message["received_at"]).utcoffset() is not None

    by_id = mail.http.get(f"/messages/{message['id']}")
    assert by_id.status_code == 200
    assert by_id.json() == message
    missing = mail.http.get("/messages/no-such-id")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)


def test_mail_filter_by_recipient(mail: Mail) -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
        smtp.sendmail(
            "a@sanad.example",
            ["One@Example.com", "hidden@example.com"],
            b"Subject: first\r\n\r\nplain only\r\n",
        )
        smtp.sendmail("a@sanad.example", ["two+tag@example.com"], b"Subject: second\r\n\r\nx\r\n")
        smtp.sendmail("a@sanad.example", ["one@example.com"], b"Subject: third\r\n\r\ny\r\n")

    def subjects(to: str) -> list[str]:
        return [
            m["subject"] for m in mail.http.get("/messages", params={"to": to}).json()["messages"]
        ]

    assert subjects("one@example.com") == ["first", "third"]  # case-insensitive, oldest first
    assert subjects("HIDDEN@example.com") == ["first"]  # any envelope recipient, Bcc too
    assert subjects("two+tag@example.com") == ["second"]
    assert subjects("nobody@example.com") == []
    first = mail.http.get("/messages", params={"to": "hidden@example.com"}).json()["messages"][0]
    assert (first["text"], first["html"]) == ("plain only\n", None)
    assert len(mail.http.get("/messages").json()["messages"]) == 3

    assert mail.http.delete("/messages").status_code == 204
    assert mail.http.get("/messages").json() == {"messages": []}


def test_mail_filter_by_time_received(mail: Mail) -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
        smtp.sendmail("a@sanad.example", ["one@example.com"], b"Subject: before\r\n\r\nx\r\n")
        since = datetime.now(UTC).isoformat()
        smtp.sendmail("a@sanad.example", ["one@example.com"], b"Subject: after\r\n\r\ny\r\n")

    def subjects(**params: str) -> list[str]:
        return [m["subject"] for m in mail.http.get("/messages", params=params).json()["messages"]]

    assert subjects(since=since) == ["after"]
    assert subjects(since=since, to="one@example.com") == ["after"]
    assert subjects(to="one@example.com") == ["before", "after"]
    assert subjects(since="2999-01-01T00:00:00+03:00") == []
    counted = mail.http.get("/messages", params={"since": since, "envelope": "true"}).json()
    assert [(m["from"], m["to"]) for m in counted["messages"]] == [
        ("a@sanad.example", ["one@example.com"])
    ]
    assert "subject" not in counted["messages"][0]


def test_mail_with_a_message_id_it_holds_is_accepted_and_kept_once(mail: Mail) -> None:
    """A mailbox folds copies of one message (same Message-ID): a sender that resends after
    losing the server's answer leaves one message, and the copy is counted."""
    before = mail.http.get("/stats").json()["duplicates"]
    first = b"Message-ID: <d-1@sanad.notifications>\r\nSubject: decision\r\n\r\nyes\r\n"
    other = b"Message-ID: <d-2@sanad.notifications>\r\nSubject: card\r\n\r\nno\r\n"
    no_id = b"Subject: no id\r\n\r\nkept every time\r\n"
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
        for raw in (first, first, other, first.replace(b"Message-ID", b"message-id"), no_id, no_id):
            assert smtp.sendmail("a@sanad.example", ["dup@example.com"], raw) == {}
    found = mail.http.get("/messages", params={"to": "dup@example.com"}).json()["messages"]
    assert [m["subject"] for m in found] == ["decision", "card", "no id", "no id"]
    stats = mail.http.get("/stats").json()
    assert stats["duplicates"] == before + 2 and stats["stored"] == 4


def test_mail_survives_malformed_messages(mail: Mail) -> None:
    garbage = [
        b"\xff\xfe no headers at all",
        b"Subject: =?utf-8?q?broken\xff\r\nContent-Type: text/plain; charset=nope\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\xff\r\n",
        b"From: <<<@@@>>>\r\nTo: ,,,\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n",
    ]
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10) as smtp:
        for raw in garbage:
            smtp.sendmail("x@example.com", ["bad@example.com"], raw)
        smtp.sendmail("x@example.com", ["bad@example.com"], b"Subject: fine\r\n\r\nok\r\n")
    found = mail.http.get("/messages", params={"to": "bad@example.com"}).json()["messages"]
    assert len(found) == 4
    assert found[-1]["subject"] == "fine"
    assert mail.http.get("/healthz").status_code == 200


def test_mail_catcher_clean_sigterm_with_an_open_smtp_session() -> None:
    smtp_port, http_port = free_port(), free_port()
    args = ["--smtp-port", str(smtp_port), "--http-port", str(http_port)]
    with run_sink("mail_catcher", args, http_port) as sink:
        smtp = smtplib.SMTP("127.0.0.1", smtp_port, timeout=10)
        smtp.ehlo()  # a client still connected must not block shutdown
        code, out = stop(sink.process)
        smtp.close()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    started = json.loads(lines[0])
    assert started["event"] == "mail_catcher.started"
    assert (started["smtp_port"], started["http_port"]) == (smtp_port, http_port)


def test_sms_idempotency_memory_is_bounded_oldest_first() -> None:
    memory = Remembered(capacity=2)
    for key in ("a", "b", "c"):
        memory.add(key, {"id": key})
    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (None, {"id": "b"}, {"id": "c"})
    memory.add(None, {"id": "no key"})  # nothing to remember
    assert memory.get(None) is None
