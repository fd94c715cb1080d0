"""A lean HTTP/1.1 keep-alive server: httptools parses, the app answers, nothing else runs.

Each worker process runs one of these on the shared listening socket; scoring is synchronous
inside the event loop on purpose (it is CPU-bound, and a worker answers one request at a time).
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from http import HTTPStatus
from typing import IO

import httptools

from byom_scorer.app import Extra, ScorerApp, Streamed
from byom_scorer.auth import client_address
from byom_scorer.formats import is_columnar
from byom_scorer.shadow import COMPARED_BYTES, ShadowMirror

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_SPOOL_IN_MEMORY = 4 * 1024 * 1024  # a columnar body larger than this is spooled to disk
_CHUNK = 256 * 1024


class _Connection(asyncio.Protocol):
    __slots__ = (
        "app", "transport", "parser", "url", "body", "headers", "too_large", "limit", "shadow", "peer", "refused",
        "spool", "size", "writable", "streaming",
    )

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
        self.refused = False
        self.spool: IO[bytes] | None = None
        self.size = 0
        self.peer = "unknown"
        self.writable: asyncio.Event | None = None
        self.streaming = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = str(peer[0])

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._send(400, b"text/plain", b"upgrades are not supported", close=True)
        except httptools.HttpParserError:
            if not self.refused:
                self._send(400, b"application/json", b'{"detail":"malformed HTTP request"}', close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._drop_spool()
        if self.writable is not None:
            self.writable.set()  # a streaming answer stops at the next chunk

    def pause_writing(self) -> None:
        if self.writable is None:
            self.writable = asyncio.Event()
        self.writable.clear()

    def resume_writing(self) -> None:
        if self.writable is not None:
            self.writable.set()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []
        self.headers = {}
        self.too_large = False
        self.size = 0
        self._drop_spool()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        path = self.url.partition(b"?")[0].decode("latin-1")
        authorization = self.headers.get(b"authorization")
        client = client_address(self.headers.get(b"x-forwarded-for"), self.peer)
        # The passphrase is checked before a byte of the body is read: a refused client is
        # answered and disconnected, its body never buffered.
        refusal = self.app.authorize(
            path, None if authorization is None else authorization.decode("latin-1"), client, self.headers.get(b"x-byom-shadow")
        )
        if refusal is not None:
            self.refused = True
            self._send(*refusal, close=True)
            return
        if path == "/model/score" and is_columnar(self._header(b"content-type")):
            self.limit = self.app.settings.max_columnar_bytes
            self.spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - closed in _drop_spool
        else:
            self.limit = self.app.settings.max_body_bytes
        length = self.headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            self.too_large = True
        # curl and other clients wait (curl: 1 s) for this before sending a large body.
        if self.headers.get(b"expect", b"").lower() == b"100-continue" and not self.too_large and self.transport:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if self.too_large or self.refused:
            return
        self.size += len(body)
        if self.size > self.limit:
            self.too_large = True
            self.body = []
            self._drop_spool()
            return
        if self.spool is not None:
            self.spool.write(body)
        else:
            self.body.append(body)

    def _drop_spool(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def on_message_complete(self) -> None:
        if self.refused:
            return
        if self.too_large:
            variable = "BYOM_MAX_COLUMNAR_BYTES" if self.limit == self.app.settings.max_columnar_bytes else "BYOM_MAX_BODY_BYTES"
            detail = f'{{"detail":"the body is over the limit of {self.limit} bytes ({variable})"}}'
            self._send(413, b"application/json", detail.encode(), close=True)
            self.app.refused(self.url.partition(b"?")[0].decode("latin-1"), 413, self.headers.get(b"x-byom-shadow"))
            return
        path, _, query = self.url.partition(b"?")
        started = time.perf_counter()
        spool = self.spool
        if spool is not None:
            spool.seek(0)
        body = b"".join(self.body)
        method = self.parser.get_method()
        status, kind, payload = self.app.handle(
            method, path.decode("latin-1"), query.decode("latin-1"), self.headers, body, spool
        )
        close = not self.parser.should_keep_alive()
        if self.shadow is not None:
            if spool is not None and self.size <= self.app.settings.max_body_bytes:
                spool.seek(0)
                body = spool.read()
            millis = (time.perf_counter() - started) * 1000
            if spool is None or len(body) == self.size:
                answer = payload if isinstance(payload, bytes) and kind == b"application/json" else None
                if isinstance(payload, Streamed) and payload.length <= COMPARED_BYTES and self.shadow.comparing:
                    answer = payload.file.read()  # a columnar answer, compared off the request path
                    payload.file.seek(0)
                self.shadow.offer(
                    method, path.decode("latin-1"), query.decode("latin-1"), self.headers, body, status, millis, answer, kind
                )
        self._drop_spool()
        if isinstance(payload, Streamed):
            self.streaming = True
            if self.transport is not None:
                self.transport.pause_reading()  # one request at a time on this connection
            asyncio.get_running_loop().create_task(self._stream(status, kind, payload, close))
        elif isinstance(payload, Extra):
            self._send(status, kind, payload.body, close, payload.headers)
        else:
            self._send(status, kind, payload, close=close)
        self.app.release()

    async def _stream(self, status: int, kind: bytes, answer: Streamed, close: bool) -> None:
        try:
            transport = self.transport
            if transport is None:
                return
            transport.write(self._head(status, kind, answer.length, close))
            while True:
                chunk = answer.file.read(_CHUNK)
                if not chunk or self.transport is None:
                    break
                self.transport.write(chunk)
                if self.writable is not None and not self.writable.is_set():
                    await self.writable.wait()
            if close and self.transport is not None:
                self.transport.close()
                self.transport = None
        finally:
            answer.file.close()
            self.streaming = False
            if self.transport is not None:
                self.transport.resume_reading()

    @staticmethod
    def _head(status: int, kind: bytes, length: int, close: bool, extra: bytes = b"") -> bytes:
        return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            kind,
            length,
            extra,
            b"Connection: close\r\n" if close else b"",
        )

    def _send(self, status: int, kind: bytes, payload: bytes, close: bool, extra: bytes = b"") -> None:
        transport = self.transport
        if transport is None:
            return
        if isinstance(payload, Extra):
            payload, extra = payload.body, extra + payload.headers
        transport.write(self._head(status, kind, len(payload), close, extra) + payload)
        if close:
            transport.close()
            self.transport = None


async def serve(app: ScorerApp, listener: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    settings = app.settings
    comparison = app.metrics.comparison if app.metrics is not None else None
    shadow = (
        ShadowMirror(settings.shadow_url, settings.model_id, settings.shadow_queue, comparison=comparison)
        if settings.shadow_url
        else None
    )
    server = await loop.create_server(lambda: _Connection(app, shadow), sock=listener, backlog=2048)
    async with server:
        await server.serve_forever()
