"""How every service's HTTP server runs: uvicorn with a deadline for the request head.

uvicorn closes a keep-alive connection that stays idle (``timeout_keep_alive``), but a
connection that sends part of a request line or headers and then waits — on a new
connection, or after a keep-alive request — is held for ever: a handful of such clients
(slowloris) use up a server's connections. The protocol here arms one timer when a
connection opens and again after each answer; when it fires and no request is being
handled (its head not complete), the connection is closed. The body has its own
deadline in ``sanad.shared.http.RequestGuard``.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, cast

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from sanad.shared.logging import get_logger

log = get_logger(__name__)


class HeadDeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (httptools, or h11 without it) with a ``head_timeout``
    deadline for each request's line and headers."""

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout = head_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def _arm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_deadline_passed)

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        cycle = getattr(self, "cycle", None)
        handling = cycle is not None and not cycle.response_complete
        if not handling and not self.transport.is_closing():
            log.info("request_head_timeout", seconds=self._head_timeout)
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


def head_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """What uvicorn's ``http`` takes: the protocol with a ``seconds`` head deadline. A
    partial of a module-level class, not a class made here, because with several workers
    uvicorn pickles its config into each spawned process (a local class does not pickle)."""
    return cast(type[asyncio.Protocol], partial(HeadDeadlineProtocol, head_timeout=seconds))
