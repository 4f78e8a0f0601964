"""The deadline for a request's head (engine/service/protocol.py), through a real uvicorn server.

uvicorn held a connection that sent nothing, or sent its headers a byte at a time, for ever.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from served import served

from engine.service import serving
from engine.service.protocol import TimedHeadProtocol


class QuickHead(TimedHeadProtocol):
    head_timeout = 0.5


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"),
                                                                     (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def port() -> Iterator[int]:
    with served(hello, http=QuickHead) as port:
        yield port


def _until_closed(conn: socket.socket) -> bytes:
    received = b""
    while chunk := conn.recv(65536):  # until the server closes the connection (the socket's timeout fails)
        received += chunk
    return received


def test_headers_sent_too_slowly_get_408_and_the_connection_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        start = time.monotonic()
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # a byte now and then keeps no connection open past the deadline
            time.sleep(0.2)
            conn.sendall(b"X")
        received = _until_closed(conn)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), received
    assert b"application/problem+json" in received and b"connection: close" in received
    assert b"did not arrive within 0.5 seconds" in received
    assert time.monotonic() - start < 8


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        assert _until_closed(conn) == b""


def test_requests_in_time_are_answered_and_each_has_its_own_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for _ in range(3):  # together longer than one deadline, each head within it
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.3)
            conn.sendall(b"\r\n")
            answer = b""
            while not answer.endswith(b"hello"):
                chunk = conn.recv(65536)
                assert chunk, f"the connection was closed after {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _until_closed(conn).startswith(b"HTTP/1.1 200 ")


def test_bwc_serve_runs_with_the_head_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets=None: used.append(server.config))
    serving.run_worker(lambda: hello, socket.socket())
    assert used and used[0].http is TimedHeadProtocol
