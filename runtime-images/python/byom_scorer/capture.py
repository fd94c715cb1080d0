"""Request capture (docs/monitoring.md): a sampled share of scored rows, written with their answers.

The request path only draws the sample and, for a sampled request, serializes the typed input
columns and the model's outputs in one call (orjson writes numpy arrays in C; a batch of
PICKLE_ROWS rows or more is pickled instead) and appends the frame to a list. A sender thread
writes the list into a pipe every SEND_SECONDS; at the other end a writer process of the
worker's own (byom_scorer.capture_writer) makes the JSON lines, gzips and writes the batches, so
no work of the writer's holds this worker's interpreter lock, and it runs at a lower CPU priority.
Headers are never captured, so neither an Authorization header nor a passphrase can be. A clean
shutdown (SIGTERM, exit) writes what waits, closes the pipe and waits for the writer to write
everything; a worker killed outright loses at most its last SEND_SECONDS of frames. Beyond
MAX_BACKLOG_BYTES waiting (a writer far behind), requests are dropped and counted in the log.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import pickle
import random
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

log = logging.getLogger("byom_scorer")

#: A batch file is written once this many rows wait, or FLUSH_SECONDS after its first row.
BATCH_ROWS = 10_000
FLUSH_SECONDS = 10.0
#: How long a stopping worker waits for its writer to write what it holds.
CLOSE_SECONDS = 25.0
#: A scored batch of this many rows goes to the writer as pickled arrays, a smaller one as JSON.
PICKLE_ROWS = 64
#: Frames waiting to be written beyond this are dropped (counted and logged).
MAX_BACKLOG_BYTES = 64 * 1024**2
#: The sender thread writes waiting frames this often, or once this many bytes wait.
SEND_SECONDS = 0.05
SEND_BYTES = 64 * 1024
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, Linux only (Python exposes it from 3.10 on Linux)
_HEADER = struct.Struct("<I")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_WARN_EVERY = 10.0


@dataclass(frozen=True)
class Field:
    name: str
    type: str


class CaptureWriter:
    """One worker's side of capture: the sample, and frames into its writer process's pipe."""

    def __init__(
        self,
        uri: str,
        percent: float,
        inputs: Sequence[Field],
        batch_rows: int = BATCH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        if not 0 < percent <= 100:
            raise SystemExit(f"BYOM_CAPTURE_PERCENT must be in (0, 100], got {percent}")
        if not uri.startswith(("s3://", "file://")):
            raise SystemExit(f"BYOM_CAPTURE_URI must be an s3:// or file:// URI, got {uri!r}")
        self._share = percent / 100
        self._config = orjson.dumps({
            "uri": uri,
            "names": [f.name for f in inputs],
            "types": [f.type for f in inputs],
            "batchRows": batch_rows,
            "flushSeconds": flush_seconds,
        }).decode()
        # Time64 inputs are turned into ISO strings here (orjson's would lack the "Z").
        self._times = [i for i, f in enumerate(inputs) if f.type == "Time64"]
        self._fd: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._dropped = 0
        self._warned_at = 0.0
        self._on_term = False
        self._lock = threading.RLock()  # SIGTERM's close() may run inside offer()
        self._wake = threading.Condition(self._lock)
        # Frames not yet in the pipe, in order; the sender thread writes them every SEND_SECONDS
        # (or sooner once SEND_BYTES wait), so a request makes no system call.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pipe = threading.Lock()  # held while writing to the pipe: one writer at a time
        self._sender: threading.Thread | None = None
        self._closing = False

    def sampled(self) -> bool:
        return self._share >= 1 or random.random() < self._share

    def start(self) -> None:
        """Starts this worker's writer process (again in a forked child: a pipe has one owner)."""
        read, write = os.pipe()
        try:
            fcntl.fcntl(write, _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            pass  # the default 64 KiB pipe works, it only fills sooner
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "byom_scorer.capture_writer", self._config], stdin=read, close_fds=True
            )
        finally:
            os.close(read)
        self._fd = write
        self._pending, self._pending_bytes, self._closing = [], 0, False
        self._owner = os.getpid()
        self._sender = threading.Thread(target=self._drain, name="capture-sender", daemon=True)
        self._sender.start()
        atexit.register(self.close)

    def offer(self, columns: Sequence[np.ndarray], rows: int, names: list[str], outputs: list[np.ndarray]) -> None:
        """Sends a scored batch to the writer; never waits for it. `columns` are the schema's
        typed inputs."""
        if rows <= 0:
            return
        if self._owner != os.getpid():
            self.start()
        if not self._on_term and threading.current_thread() is threading.main_thread():
            self._on_term = True
            _close_on_sigterm(self.close)
        frame = self._frame(columns, rows, names, outputs)
        with self._lock:
            if self._fd is None or self._closing:
                return
            if self._pending_bytes + len(frame) > MAX_BACKLOG_BYTES:
                self._drop()
                return
            self._pending.append(frame)
            self._pending_bytes += len(frame)
            # The sender sleeps while nothing waits: the first frame of a batch wakes it.
            if len(self._pending) == 1 or self._pending_bytes >= SEND_BYTES:
                self._wake.notify()

    def _frame(self, columns: Sequence[np.ndarray], rows: int, names: list[str], outputs: list[np.ndarray]) -> bytes:
        matrix = getattr(columns, "matrix", None)
        # A small all-numeric request the model took as a float64 matrix (byom_scorer.convert.Batch)
        # has no typed columns yet: its rows go as they are and the writer types them.
        if matrix is not None and getattr(columns, "_columns", None) is None:
            kind, inputs = 1, matrix
        else:
            kind, inputs = 0, list(columns)
            for index in self._times:
                inputs[index] = _times(inputs[index])
        if any(getattr(column, "dtype", None) is not None and column.dtype.kind == "M" for column in outputs):
            outputs = [_times(c) if getattr(c, "dtype", None) is not None and c.dtype.kind == "M" else c for c in outputs]
        if rows >= PICKLE_ROWS and kind == 0:
            # Writing many numbers as text is the writer's job: arrays pickle at memory speed.
            body = pickle.dumps([time.time(), rows, inputs, names, outputs], protocol=5)
        else:
            body = orjson.dumps([time.time(), rows, kind, inputs, names, outputs], option=_NUMPY, default=_plain)
        return _HEADER.pack(len(body)) + body

    def _drain(self) -> None:
        """The sender thread: every SEND_SECONDS (sooner when SEND_BYTES wait) it writes the
        waiting frames to the pipe; a full pipe blocks this thread only, without the
        interpreter lock."""
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._closing and self._pending_bytes < SEND_BYTES:
                    self._wake.wait(SEND_SECONDS)  # let a batch of frames gather
                if self._closing:
                    return  # close() writes what is left
                frames, self._pending = self._pending, []
            written = self._write(frames)
            with self._lock:
                self._pending_bytes -= written

    def _write(self, frames: list[bytes]) -> int:
        """Writes whole frames, small ones joined into chunks of up to SEND_BYTES; their size."""
        total = 0
        with self._pipe:
            chunk: list[bytes] = []
            size = 0
            for frame in [*frames, None]:
                if chunk and (frame is None or size + len(frame) > SEND_BYTES):
                    data = chunk[0] if len(chunk) == 1 else b"".join(chunk)
                    if self._fd is not None:
                        try:
                            view = memoryview(data)
                            while view:
                                view = view[os.write(self._fd, view) :]
                        except OSError:
                            log.error("capture stopped: its writer process is gone (exit %s)", self._process and self._process.poll())
                            self._fd = None
                    total += size
                    chunk, size = [], 0
                if frame is not None:
                    chunk.append(frame)
                    size += len(frame)
        return total

    def _drop(self) -> None:
        self._dropped += 1
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning("capture dropped %d requests so far: its writer process is behind", self._dropped)

    def close(self) -> None:
        """Writes what waits, closes the pipe and waits for the writer to write what it holds.
        Safe in a SIGTERM handler that interrupted offer(): the frame lock is re-entrant, and the
        pipe lock is only ever held around writes, which the sender finishes."""
        if self._owner != os.getpid():
            return
        with self._lock:
            if self._closing:
                return
            self._closing = True
            frames, self._pending, self._pending_bytes = self._pending, [], 0
            self._wake.notify()
        self._write(frames)
        with self._pipe:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        os.close(fd)
        if self._dropped:
            log.warning("capture dropped %d requests: its writer process was behind", self._dropped)
        if self._process is not None:
            try:
                self._process.wait(timeout=CLOSE_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("capture writer still writing after %.0f s; stopping without it", CLOSE_SECONDS)


def _times(column: Any) -> list[str | None]:
    text = np.datetime_as_string(np.asarray(column).astype("datetime64[ms]"), unit="ms")
    return [None if t == "NaT" else f"{t}Z" for t in text.tolist()]


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: object and other numpy arrays, numpy scalars, anything else as text."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return list(value)
    return str(value)


def _close_on_sigterm(close: Any) -> None:
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        close()
        if callable(previous):
            previous(signum, frame)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)


def capture_writer(uri: str | None, percent: float, inputs: Sequence[Any]) -> CaptureWriter | None:
    """The worker's capture, its writer process started, or None when capture is off. Outputs are
    typed by the model's own arrays (numbers, labels, times)."""
    if not uri or percent <= 0:
        return None
    writer = CaptureWriter(
        uri,
        percent,
        [Field(c.name, c.type) for c in inputs],
        batch_rows=int(os.environ.get("BYOM_CAPTURE_BATCH_ROWS", str(BATCH_ROWS))),
        flush_seconds=float(os.environ.get("BYOM_CAPTURE_FLUSH_SECONDS", str(FLUSH_SECONDS))),
    )
    writer.start()
    return writer
