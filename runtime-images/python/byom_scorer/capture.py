"""Request capture (docs/monitoring.md): a sampled share of scored rows, written with their answers.

The request path only draws the sample and, for a sampled request, serializes the typed input
columns and the model's outputs in one call (orjson writes numpy arrays in C; a batch of
PICKLE_ROWS rows or more is pickled instead) and appends the frame to a backlog. The worker has
no thread for capture (a second thread would take the interpreter lock from the request thread,
whose wait for it shows in the latency tail): the backlog goes into a non-blocking pipe
SEND_SECONDS after its first frame, from a timer of the worker's event loop (so between requests),
or at once when SEND_BYTES wait; when the pipe is full, the event loop sends the rest once it has
room. At the other end a writer process of the worker's own (byom_scorer.capture_writer) makes the
JSON lines, gzips and writes the batches at idle CPU priority. Headers are never captured, so
neither an Authorization header nor a passphrase can be. A clean shutdown (SIGTERM, exit) writes
what waits, closes the pipe and waits for the writer to write everything; a worker killed outright
loses at most its last SEND_SECONDS of frames. Beyond MAX_BACKLOG_BYTES waiting (a writer far
behind), requests are dropped, counted (`dropped`) and logged; scoring never waits.
"""

from __future__ import annotations

import asyncio
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
#: Waiting frames go into the pipe this long after the first, or once this many bytes wait.
SEND_SECONDS = 0.05
SEND_BYTES = 64 * 1024
_PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, Linux only (Python exposes it from 3.10 on Linux)
_HEADER = struct.Struct("<I")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_WARN_EVERY = 10.0
_TERM = {signal.SIGTERM}


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
        self.dropped = 0
        self._warned_at = 0.0
        self._on_term = False
        # Bytes not yet in the pipe, whole frames in order (the first may be partly written).
        self._backlog = bytearray()
        self._first_at = 0.0  # when the backlog last became non-empty (no event loop: sent on a later offer)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._watching = False  # the loop calls _send once the full pipe has room again
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
        # A request never waits for the writer: a full pipe leaves the bytes in the backlog.
        os.set_blocking(write, False)
        # The writer imports this package from where the worker found it (a worker started with
        # its own sys.path, not PYTHONPATH, would otherwise start a writer that cannot find it).
        source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": source if not path else f"{source}{os.pathsep}{path}"}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "byom_scorer.capture_writer", self._config], stdin=read, close_fds=True, env=env
            )
        finally:
            os.close(read)
        self._fd = write
        self._backlog, self._closing, self._timer, self._watching, self._loop = bytearray(), False, None, False, None
        self._owner = os.getpid()
        atexit.register(self.close)

    def offer(self, columns: Sequence[np.ndarray], rows: int, names: list[str], outputs: list[np.ndarray]) -> None:
        """Hands a scored batch to the writer; never waits for it. `columns` are the schema's
        typed inputs. The frame joins the backlog, which goes into the pipe SEND_SECONDS after it
        began (a timer of the worker's event loop, so between requests) or once SEND_BYTES wait.
        Called from the request thread only (no lock: no other thread touches the backlog)."""
        if rows <= 0:
            return
        if self._owner != os.getpid():
            self.start()
        if not self._on_term and threading.current_thread() is threading.main_thread():
            self._on_term = True
            _close_on_sigterm(self.close)
        if self._fd is None or self._closing:
            return
        frame = self._frame(columns, rows, names, outputs)
        backlog = self._backlog
        if len(backlog) + len(frame) > MAX_BACKLOG_BYTES:
            self._drop()
            return
        was_empty = not backlog
        backlog += frame
        if self._watching:
            return  # the pipe is full: the loop sends once it has room
        if len(backlog) >= SEND_BYTES:
            self._send()
        elif was_empty:
            self._schedule()
        elif self._loop is None and time.monotonic() - self._first_at >= SEND_SECONDS:
            self._send()

    def _schedule(self) -> None:
        """Arranges for the backlog to be sent SEND_SECONDS from now."""
        self._first_at = time.monotonic()
        if self._timer is not None or self._watching:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # no event loop (a script calling the app): sent by a later offer or close
            return
        self._loop = loop
        self._timer = loop.call_later(SEND_SECONDS, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._send()

    def _send(self) -> None:
        """Writes as much of the backlog as the pipe takes now. What it cannot take waits for the
        event loop to see the pipe writable (or, without a loop, for the next offer)."""
        fd = self._fd
        if fd is None or not self._backlog:
            return
        # SIGTERM's close() must not run between a write and the backlog's trim: it would hand
        # those bytes over twice. Blocked for these few microseconds; delivered right after.
        masked = threading.current_thread() is threading.main_thread()
        if masked:
            signal.pthread_sigmask(signal.SIG_BLOCK, _TERM)
        try:
            try:
                written = os.write(fd, self._backlog)
            except BlockingIOError:
                written = 0
            except OSError:
                log.error("capture stopped: its writer process is gone (exit %s)", self._process and self._process.poll())
                self._unwatch()  # a pipe without a reader stays "writable": the loop would spin on it
                os.close(fd)
                self._fd, written = None, len(self._backlog)
            del self._backlog[:written]
        finally:
            if masked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _TERM)
        if self._backlog and self._fd is not None:
            self._first_at = time.monotonic()
            self._watch()
        elif self._watching:
            self._unwatch()

    def _watch(self) -> None:
        if self._watching or self._fd is None:
            return
        loop = self._loop
        if loop is None:
            try:
                loop = self._loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        loop.add_writer(self._fd, self._send)
        self._watching = True

    def _unwatch(self) -> None:
        if self._watching and self._loop is not None and self._fd is not None:
            try:
                self._loop.remove_writer(self._fd)
            except (RuntimeError, ValueError, OSError):
                pass  # the loop is closed already
        self._watching = False

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

    def _drop(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning("capture dropped %d requests so far: its writer process is behind", self.dropped)

    def close(self) -> None:
        """Writes what waits (waiting for the pipe now), closes it and waits for the writer to
        write what it holds. Runs at exit and in the SIGTERM handler, which may interrupt offer()
        anywhere but inside _send's write-and-trim."""
        if self._owner != os.getpid() or self._closing:
            return
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._unwatch()
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.set_blocking(fd, True)
            view = memoryview(self._backlog)
            while view:
                view = view[os.write(fd, view) :]
            view.release()
        except OSError:
            log.error("capture lost %d bytes of requests: its writer process is gone", len(self._backlog))
        self._backlog = bytearray()
        os.close(fd)
        if self.dropped:
            log.warning("capture dropped %d requests: its writer process was behind", self.dropped)
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
