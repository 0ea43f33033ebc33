"""The SMS provider's HTTP/1.1 client against a scripted server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sanad.notifications.channels.http import HttpClient, ProtocolError

Answer = Callable[[bytes], bytes]


class Server:
    """Answers each request with ``answer(request)``; counts connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer, self.connections, self.requests = answer, 0, 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests += 1
                writer.write(self.answer(head + body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


Serve = Callable[[Answer], Awaitable[tuple[Server, str]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[Server, str]:
        server = Server(answer)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(listening)
        port = listening.sockets[0].getsockname()[1]
        return server, f"http://127.0.0.1:{port}"

    yield start
    for listening in servers:
        listening.close()


def fixed(body: bytes, *headers: str) -> Answer:
    extra = "".join(f"{h}\r\n" for h in headers)
    return lambda _: (
        f"HTTP/1.1 202 Accepted\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
    )


async def test_keeps_the_connection_and_sends_the_request_as_given(serve: Serve) -> None:
    seen: list[bytes] = []

    def answer(request: bytes) -> bytes:
        seen.append(request)
        return fixed(b'{"id": "m-1"}')(request)

    server, url = await serve(answer)
    client = HttpClient(url + "/base/", timeout=5)
    try:
        for _ in range(3):
            response = await client.post_json("/api", b'{"a": 1}', {"Idempotency-Key": "k"})
            assert (response.status, response.body) == (202, b'{"id": "m-1"}')
    finally:
        await client.aclose()
    assert (server.connections, server.requests) == (1, 3)
    head, _, body = seen[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /base/api HTTP/1.1\r\n")
    assert b"\r\nIdempotency-Key: k" in head and b"\r\nContent-Length: 8" in head
    assert body == b'{"a": 1}'


async def test_reads_a_chunked_answer_and_honours_connection_close(serve: Serve) -> None:
    chunked = (
        b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n"
        b'Connection: close\r\n\r\n4\r\n{"ti\r\n9;ext=1\r\ntle": "x"\r\n3\r\n}  \r\n0\r\n\r\n'
    )
    server, url = await serve(lambda _: chunked)
    client = HttpClient(url, timeout=5)
    try:
        for _ in range(2):
            response = await client.post_json("/api", b"{}", {})
            assert (response.status, response.body) == (500, b'{"title": "x"}  ')
    finally:
        await client.aclose()
    assert server.connections == 2  # closed after each answer, as the server asked


async def test_a_kept_connection_the_server_closed_is_replaced(serve: Serve) -> None:
    server, url = await serve(fixed(b"{}"))
    client = HttpClient(url, timeout=5)
    try:
        await client.post_json("/api", b"{}", {})
        for writer in server.writers:  # the server drops the idle connection
            writer.close()
        response = await client.post_json("/api", b"{}", {})
    finally:
        await client.aclose()
    assert response.status == 202
    assert (server.connections, server.requests) == (2, 2)


async def test_a_garbled_answer_fails_and_its_connection_is_not_reused(serve: Serve) -> None:
    _, url = await serve(lambda _: b"SMTP? 220 hello\r\n\r\n")
    client = HttpClient(url, timeout=5)
    try:
        with pytest.raises(ProtocolError):
            await client.post_json("/api", b"{}", {})
        assert client._idle == []
    finally:
        await client.aclose()


async def test_a_server_that_never_answers_times_out(serve: Serve) -> None:
    def hang(_: bytes) -> bytes:
        return b""  # nothing is written: the answer never comes

    _, url = await serve(hang)
    client = HttpClient(url, timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await client.post_json("/api", b"{}", {})
        assert client._idle == []
    finally:
        await client.aclose()
