"""SMS providers: one interface; the HTTP provider speaks the API of the platform's SMS sink.

Another provider is one new class with the same ``send``.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from sanad.notifications.channels.results import SendResult
from sanad.notifications.domain.retries import Outcome, http_status_outcome

# httpx logs every request at INFO; each send is logged once already (delivery_attempted).
logging.getLogger("httpx").setLevel(logging.WARNING)


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

    def __init__(self, base_url: str, api_key: str, sender: str, *, timeout: float) -> None:
        self._sender = sender
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )

    async def send(self, to: str, body: str, *, idempotency_key: str) -> SendResult:
        try:
            response = await self._client.post(
                "/api/v1/messages",
                json={"to": to, "sender": self._sender, "body": body},
                headers={"Idempotency-Key": idempotency_key},
            )
        except httpx.TimeoutException as exc:
            return SendResult(Outcome.TRANSIENT, error=f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return SendResult(Outcome.TRANSIENT, error=f"connection: {type(exc).__name__}")
        outcome = http_status_outcome(response.status_code)
        if outcome is Outcome.SENT:
            message_id = _json_field(response, "id")
            return SendResult.sent(response.status_code, message_id)
        # The provider's problem title/detail, not the request we sent.
        detail = _json_field(response, "detail") or _json_field(response, "title") or ""
        return SendResult(
            outcome, response.status_code, f"HTTP {response.status_code} {detail}"[:500]
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _json_field(response: httpx.Response, name: str) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return None if value is None else str(value)
