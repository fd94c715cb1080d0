"""A lean HTTP/1.1 keep-alive server: httptools parses, the app answers, nothing else runs.

Each worker process runs one of these on the shared listening socket; scoring is synchronous
inside the event loop on purpose (it is CPU-bound, and a worker answers one request at a time).
"""

from __future__ import annotations

import asyncio
import socket
import time
from http import HTTPStatus

import httptools

from byom_scorer.app import ScorerApp
from byom_scorer.shadow import ShadowMirror

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}


class _Connection(asyncio.Protocol):
    __slots__ = ("app", "transport", "parser", "url", "body", "headers", "too_large", "limit", "shadow")

    def __init__(self, app: ScorerApp, shadow: ShadowMirror | None = None) -> None:
        self.app = app
        self.shadow = shadow
        self.limit = app.settings.max_body_bytes
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.headers: dict[bytes, bytes] = {}
        self.too_large = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._send(400, b"text/plain", b"upgrades are not supported", close=True)
        except httptools.HttpParserError:
            self._send(400, b"application/json", b'{"detail":"malformed HTTP request"}', close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []
        self.headers = {}
        self.too_large = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers[name] = value
        if name == b"content-length" and value.isdigit() and int(value) > self.limit:
            self.too_large = True

    def on_headers_complete(self) -> None:
        # curl and other clients wait (curl: 1 s) for this before sending a large body.
        if self.headers.get(b"expect", b"").lower() == b"100-continue" and not self.too_large and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        if self.too_large:
            return
        self.body.append(body)
        if sum(map(len, self.body)) > self.limit:
            self.too_large = True
            self.body = []

    def on_message_complete(self) -> None:
        if self.too_large:
            detail = f'{{"detail":"the body is over the limit of {self.limit} bytes (BYOM_MAX_BODY_BYTES)"}}'
            self._send(413, b"application/json", detail.encode(), close=True)
            return
        path, _, query = self.url.partition(b"?")
        authorization = self.headers.get(b"authorization")
        content_type = self.headers.get(b"content-type")
        started = time.perf_counter()
        body = b"".join(self.body)
        status, kind, payload = self.app.handle(
            self.parser.get_method(),
            path.decode("latin-1"),
            query.decode("latin-1"),
            None if authorization is None else authorization.decode("latin-1"),
            None if content_type is None else content_type.decode("latin-1"),
            body,
        )
        self._send(status, kind, payload, close=not self.parser.should_keep_alive())
        if self.shadow is not None:
            millis = (time.perf_counter() - started) * 1000
            self.shadow.offer(self.parser.get_method(), path.decode("latin-1"), query.decode("latin-1"), self.headers, body, status, millis)
        self.app.release()

    def _send(self, status: int, kind: bytes, payload: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            kind,
            len(payload),
            b"Connection: close\r\n" if close else b"",
        )
        transport.write(head + payload)
        if close:
            transport.close()
            self.transport = None


async def serve(app: ScorerApp, listener: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    settings = app.settings
    shadow = ShadowMirror(settings.shadow_url, settings.model_id, settings.shadow_queue) if settings.shadow_url else None
    server = await loop.create_server(lambda: _Connection(app, shadow), sock=listener, backlog=2048)
    async with server:
        await server.serve_forever()
