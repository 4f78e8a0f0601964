"""HTTP/1.1 connections with a deadline for the request's head (its request line and headers).

uvicorn times a connection out only while it is idle after a response. A connection that sends
nothing, or sends its head a byte at a time, was held for ever, so a few clients could hold every
connection a server has (a "slowloris"). Here a connection must send a request's whole head within
`head_timeout` seconds of opening, and of that request's first byte: otherwise a head begun is
answered 408 and any connection is closed. The body has its own deadline, in the application
(`engine.service.app.BODY_TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT = 30.0


class TimedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the head deadline above."""

    head_timeout = HEAD_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None
    _head_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        if self._head_timer is None:  # a request after an idle keep-alive connection, or pipelined
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_begun = False
        super().on_headers_complete()

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_begun:  # a client that sent nothing gets no answer, as after uvicorn's keep-alive
            detail = f"the request line and headers did not arrive within {self.head_timeout:g} seconds"
            body = json.dumps({"type": "about:blank", "title": "Request timeout", "status": 408,
                               "detail": detail}).encode()
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
                                 b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
                                 + body)
        self.transport.close()
