"""Champion/challenger shadow copies: the champion runtime mirrors its score requests.

An ALB cannot mirror requests, so the champion does (docs/concepts.md: the challenger gets a copy of every
request, its answer is recorded and never returned). Once the champion's answer is written, the
request goes into a bounded queue; one background thread per worker process sends it to the
challenger (BYOM_SHADOW_URL) and writes one JSON line per request to stdout, which the platform
keeps (CloudWatch Logs on AWS, `<home>/shadow/<deploymentId>.jsonl` in local mode). Nothing here
can delay or change the champion's answer: a full queue drops the copy and counts it.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from byom_scorer.metrics import Comparison
from byom_scorer.records import write_record

#: A request carrying this header is never mirrored: copies carry it (a challenger that mirrors
#: too cannot loop), and so do the deploy workflow's verification requests (not user traffic).
SHADOW_HEADER = b"x-byom-shadow"
SCORE_PATH = "/model/score"
RECORDED_BODY_BYTES = 64 * 1024
TIMEOUT_SECONDS = 10.0
#: Copies waiting to be sent hold their bodies: the queue is bounded in bytes as well as entries.
MAX_QUEUED_BYTES = 64 * 1024**2
#: A columnar answer up to this size is kept (copied from its spool) to compare with the challenger's.
COMPARED_BYTES = 4 * 1024**2


class Copy(NamedTuple):
    method: str
    target: str
    body: bytes
    authorization: bytes | None
    content_type: bytes | None
    champion_status: int
    champion_millis: float
    #: The champion's answer (JSON, or a columnar table up to COMPARED_BYTES) and its Content-Type,
    #: compared with the challenger's (byom_scorer.metrics.Comparison).
    champion_answer: bytes | None
    champion_type: bytes | None


class ShadowMirror:
    """Mirrors one worker's score requests to the challenger; `offer` never blocks."""

    def __init__(
        self, url: str, model_id: str, capacity: int = 256, out_fd: int = 1, comparison: Comparison | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"BYOM_SHADOW_URL must be an http(s) URL, got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._model_id = model_id
        self._out_fd = out_fd
        self._queue: queue.Queue[Copy] = queue.Queue(maxsize=max(1, capacity))
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._dropped = 0
        self._connection: http.client.HTTPConnection | None = None
        self._thread: threading.Thread | None = None
        self._comparison = comparison
        self.comparing = comparison is not None  # the champion's answers are kept to compare
        self._answer: bytes | None = None  # the challenger's last answer, whole
        self._answer_type: str | None = None

    def offer(
        self,
        method: bytes,
        path: str,
        query: str,
        headers: dict[bytes, bytes],
        body: bytes,
        champion_status: int,
        champion_millis: float,
        champion_answer: bytes | None = None,
        champion_type: bytes | None = None,
    ) -> None:
        """Queues a copy of a score request the champion has answered (other requests are ignored)."""
        if path != SCORE_PATH or SHADOW_HEADER in headers:
            return
        if self._comparison is None:
            champion_answer = None
        size = len(body) + len(champion_answer or b"")
        with self._lock:
            if self._queued_bytes + size > MAX_QUEUED_BYTES or self._queue.full():
                self._dropped += 1
                return
            self._queued_bytes += size
            self._queue.put_nowait(
                Copy(
                    method.decode("latin-1"),
                    f"{self._base}{path}?{query}" if query else f"{self._base}{path}",
                    body,
                    headers.get(b"authorization"),
                    headers.get(b"content-type"),
                    champion_status,
                    champion_millis,
                    champion_answer,
                    champion_type,
                )
            )
        if self._thread is None:
            # Started in the worker that serves (threads do not survive the supervisor's fork).
            self._thread = threading.Thread(target=self._run, name="shadow-mirror", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            copy = self._queue.get()
            with self._lock:
                self._queued_bytes -= len(copy.body) + len(copy.champion_answer or b"")
            record = self._send(copy)
            self._write(record)
            if self._comparison is not None:
                answer, self._answer = self._answer, None
                self._comparison.add(
                    copy.champion_answer if copy.champion_status == 200 else None,
                    copy.champion_millis,
                    {**record, "body": answer, "contentType": self._answer_type},
                    copy.champion_type,
                )
            with self._lock:
                dropped, self._dropped = self._dropped, 0
            if dropped:
                self._write({"event": "shadow-dropped", "at": _now(), "modelId": self._model_id, "dropped": dropped})

    def _send(self, copy: Copy) -> dict[str, object]:
        record: dict[str, object] = {
            "event": "shadow",
            "at": _now(),
            "modelId": self._model_id,
            "method": copy.method,
            "path": copy.target[len(self._base) :],
            "championStatus": copy.champion_status,
            "championMillis": round(copy.champion_millis, 3),
        }
        headers = {SHADOW_HEADER.decode(): "copy"}
        if copy.authorization is not None:
            headers["Authorization"] = copy.authorization.decode("latin-1")
        if copy.content_type is not None:
            headers["Content-Type"] = copy.content_type.decode("latin-1")
        started = time.perf_counter()
        # A kept-alive connection the challenger (or the ALB) closed meanwhile fails at once: one
        # more try on a new connection. A new connection that fails, or a timeout, is the answer.
        while True:
            reused = self._connection is not None
            try:
                connection = self._connect()
                connection.request(copy.method, copy.target, body=copy.body or None, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.will_close:
                    self._close()
                self._answer = answer
                self._answer_type = response.getheader("Content-Type")
                record.update(
                    status=response.status,
                    millis=_millis(started),
                    body=answer[:RECORDED_BODY_BYTES].decode("utf-8", "replace"),
                )
                return record
            except (OSError, http.client.HTTPException) as error:
                self._close()
                if not reused or isinstance(error, TimeoutError):
                    record.update(status=None, error=_describe(error), millis=_millis(started))
                    return record

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=TIMEOUT_SECONDS)
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, record: dict[str, object]) -> None:
        write_record(record, self._out_fd)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _describe(error: BaseException) -> str:
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _millis(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
