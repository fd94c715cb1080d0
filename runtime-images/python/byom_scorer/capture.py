"""Request capture (docs/monitoring.md): a sampled share of scored rows, written with their answers.

The request path only decides whether a request is sampled and queues references to its typed
columns and the model's outputs (no copying, no I/O). A background thread per worker process turns
them into JSON Lines, one object per captured request with its columns typed by the schema
(`{"at", "rows", "input": {column: [values]}, "output": {...}}`), and writes gzipped batches under
`{BYOM_CAPTURE_URI}/dt=YYYY-MM-DD/`: a folder in local mode, the artifact bucket on AWS (pyarrow's
S3 file system, with the task's credentials, which may write that deployment's prefix only).
Headers are never captured, so neither an Authorization header nor a passphrase can be. A clean
shutdown (SIGTERM, exit) writes what is queued; a full queue drops requests and says so in the log.
"""

from __future__ import annotations

import atexit
import gzip
import logging
import os
import random
import secrets
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson

log = logging.getLogger("byom_scorer")

#: A batch file is written once this many rows wait, or FLUSH_SECONDS after its first row.
BATCH_ROWS = 10_000
FLUSH_SECONDS = 10.0
#: Rows waiting beyond this are dropped (counted and logged): capture never grows without bound.
MAX_QUEUED_ROWS = 200_000


@dataclass(frozen=True)
class Field:
    name: str
    type: str


class _Sink:
    """Where batch files go: a local folder (renamed into place) or S3 through pyarrow."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self._s3 = parts.scheme == "s3"
        if self._s3:
            from pyarrow import fs

            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or None
            options: dict[str, Any] = {"region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
            if endpoint:
                endpoint_parts = urlsplit(endpoint)
                options.update(endpoint_override=endpoint_parts.netloc, scheme=endpoint_parts.scheme or "https")
            self._fs = fs.S3FileSystem(**options)
            self._base = f"{parts.netloc}{parts.path}".rstrip("/")
        elif parts.scheme == "file":
            self._base = parts.path.rstrip("/")
        else:
            raise SystemExit(f"BYOM_CAPTURE_URI must be an s3:// or file:// URI, got {uri!r}")

    def write(self, relative: str, data: bytes) -> None:
        path = f"{self._base}/{relative}"
        if self._s3:
            # compression=None: pyarrow would otherwise gzip a `.gz` path a second time.
            with self._fs.open_output_stream(
                path, compression=None, metadata={"Content-Type": "application/gzip"}
            ) as stream:
                stream.write(data)
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{os.path.dirname(path)}/.{os.path.basename(path)}.partial"
        with open(partial, "wb") as file:
            file.write(data)
        os.replace(partial, path)  # readers never see half a file


class CaptureWriter:
    """Collects one worker's sampled rows and writes them in batches from a background thread."""

    def __init__(
        self,
        uri: str,
        percent: float,
        inputs: Sequence[Field],
        outputs: Sequence[Field] | None,
        batch_rows: int = BATCH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
        max_queued_rows: int = MAX_QUEUED_ROWS,
    ) -> None:
        if not 0 < percent <= 100:
            raise SystemExit(f"BYOM_CAPTURE_PERCENT must be in (0, 100], got {percent}")
        self._sink = _Sink(uri)
        self._share = percent / 100
        self._inputs = list(inputs)
        self._output_types = {f.name: f.type for f in outputs or []}
        self._batch_rows = batch_rows
        self._flush_seconds = flush_seconds
        self._max_queued_rows = max_queued_rows
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[tuple[float, Sequence[np.ndarray], list[str], list[np.ndarray], int]] = []
        self._pending_rows = 0
        self._dropped = 0
        self._first_at: float | None = None
        self._thread: threading.Thread | None = None
        self._owner = 0
        self._token = secrets.token_hex(4)
        self._sequence = 0
        self._closed = False
        self._write_lock = threading.Lock()

    def sampled(self) -> bool:
        return self._share >= 1 or random.random() < self._share

    def offer(self, columns: Sequence[np.ndarray], rows: int, names: list[str], outputs: list[np.ndarray]) -> None:
        """Queues a scored batch; never blocks on I/O. `columns` are the schema's typed inputs."""
        if rows <= 0:
            return
        with self._lock:
            if self._pending_rows + rows > self._max_queued_rows:
                self._dropped += rows
                return
            self._pending.append((time.time(), columns, names, outputs, rows))
            self._pending_rows += rows
            if self._first_at is None:
                self._first_at = time.monotonic()
            if self._pending_rows >= self._batch_rows:
                self._wake.notify()
        if self._owner != os.getpid():
            # Started in the worker that serves: threads and handlers do not survive a fork.
            self._start()

    def _start(self) -> None:
        self._owner = os.getpid()
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)

            def on_term(signum: int, frame: Any) -> None:
                self.close()
                if callable(previous):
                    previous(signum, frame)
                os._exit(0)

            signal.signal(signal.SIGTERM, on_term)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed:
                    if self._pending_rows >= self._batch_rows:
                        break
                    if self._first_at is not None:
                        left = self._first_at + self._flush_seconds - time.monotonic()
                        if left <= 0:
                            break
                        self._wake.wait(left)
                    else:
                        self._wake.wait()
                if self._closed:
                    return
            self.flush()

    def flush(self) -> None:
        """Writes every queued row now (one file per UTC day the rows fall on)."""
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                self._pending_rows = 0
                self._first_at = None
                dropped, self._dropped = self._dropped, 0
            if dropped:
                log.warning("capture dropped %d rows: more than %d were waiting to be written", dropped, self._max_queued_rows)
            if not pending:
                return
            days: dict[str, list[bytes]] = {}
            for at, columns, names, outputs, rows in pending:
                day = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
                days.setdefault(day, []).append(self._line(at, columns, names, outputs, rows))
            for day, lines in days.items():
                self._sequence += 1
                stamp = datetime.now(UTC).strftime("%H%M%S")
                name = f"dt={day}/{stamp}-{self._token}-{os.getpid()}-{self._sequence:06d}.jsonl.gz"
                try:
                    self._sink.write(name, gzip.compress(b"".join(lines), compresslevel=5))
                except Exception:  # noqa: BLE001 - capture must never take scoring down
                    log.exception("capture could not write %d requests to %s", len(lines), name)

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        with self._lock:
            self._closed = True
            self._wake.notify()

    def _line(
        self, at: float, columns: Sequence[np.ndarray], names: list[str], outputs: list[np.ndarray], rows: int
    ) -> bytes:
        """One captured request as one JSON line, columnar: its time, row count, input and output columns."""
        stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record = {
            "at": stamp,
            "rows": rows,
            "input": {field.name: _values(column, field.type) for column, field in zip(columns, self._inputs, strict=False)},
            "output": {name: _values(column, self._output_types.get(name, "")) for name, column in zip(names, outputs, strict=False)},
        }
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def _values(column: Any, kind: str) -> list[Any]:
    """A column as JSON values typed by the schema: numbers, booleans, strings, ISO times; missing → null.
    Whole-column numpy conversions: the writer's cost grows with requests, barely with rows."""
    array = np.asarray(column)
    if array.ndim > 1:  # a vector output (class probabilities): kept as a list per row
        return [_plain(v) for v in array.tolist()]
    if array.dtype.kind == "M" or kind == "Time64":
        text = np.datetime_as_string(array.astype("datetime64[ms]"), unit="ms")
        return [None if t == "NaT" else f"{t}Z" for t in text.tolist()]
    if array.dtype.kind == "f":
        missing = np.isnan(array)
        if missing.any():
            return np.where(missing, None, array.astype(object)).tolist()
        return array.tolist()
    if array.dtype.kind in "iub":
        return array.tolist()
    return [_plain(v) for v in array.tolist()]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    return str(value)


def capture_writer(uri: str | None, percent: float, inputs: Sequence[Any], outputs: Sequence[Any] | None) -> CaptureWriter | None:
    """The worker's writer, or None when capture is off."""
    if not uri or percent <= 0:
        return None
    return CaptureWriter(
        uri,
        percent,
        [Field(c.name, c.type) for c in inputs],
        None if outputs is None else [Field(c.name, c.type) for c in outputs],
        batch_rows=int(os.environ.get("BYOM_CAPTURE_BATCH_ROWS", str(BATCH_ROWS))),
        flush_seconds=float(os.environ.get("BYOM_CAPTURE_FLUSH_SECONDS", str(FLUSH_SECONDS))),
    )
