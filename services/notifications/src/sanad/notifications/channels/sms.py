"""SMS providers: one interface; the HTTP provider speaks the API of the platform's SMS sink.

Another provider is one new class with the same ``send``.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import orjson

from sanad.notifications.channels.http import HttpClient, ProtocolError
from sanad.notifications.channels.results import SendResult
from sanad.notifications.domain.retries import Outcome, http_status_outcome


class SmsProvider(Protocol):
    async def send(self, to: str, body: str, *, idempotency_key: str) -> SendResult:
        """Hand one SMS (``to`` in E.164) to the provider; classify any failure.

        Every retry of one delivery passes the same ``idempotency_key`` (the delivery id),
        so a provider that already took the message does not send it again.
        """
        ...

    async def aclose(self) -> None: ...


class HttpSmsProvider:
    """``POST {base_url}/api/v1/messages`` with a Bearer API key and ``{to, sender, body}``.

    A timeout may come after the provider accepted the message; the retry is safe only
    because it carries the same ``Idempotency-Key``, which the provider de-duplicates on.
    """

    def __init__(
        self, base_url: str, api_key: str, sender: str, *, timeout: float, pool_size: int = 10
    ) -> None:
        self._sender = sender
        self._authorization = f"Bearer {api_key}"
        self._client = HttpClient(base_url, timeout=timeout, pool_size=pool_size)

    async def send(self, to: str, body: str, *, idempotency_key: str) -> SendResult:
        payload = orjson.dumps({"to": to, "sender": self._sender, "body": body})
        headers = {"Authorization": self._authorization, "Idempotency-Key": idempotency_key}
        try:
            response = await self._client.post_json("/api/v1/messages", payload, headers)
        except TimeoutError:
            return SendResult(Outcome.TRANSIENT, error="timeout: the provider did not answer")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            return SendResult(Outcome.TRANSIENT, error=f"connection: {type(exc).__name__}")
        except (ProtocolError, ValueError) as exc:
            return SendResult(Outcome.TRANSIENT, error=f"protocol: {type(exc).__name__}")
        outcome = http_status_outcome(response.status)
        if outcome is Outcome.SENT:
            return SendResult.sent(response.status, _json_field(response.body, "id"))
        # The provider's problem title/detail, not the request we sent.
        detail = _json_field(response.body, "detail") or _json_field(response.body, "title") or ""
        return SendResult(outcome, response.status, f"HTTP {response.status} {detail}"[:500])

    async def aclose(self) -> None:
        await self._client.aclose()


def _json_field(body: bytes, name: str) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return None if value is None else str(value)
