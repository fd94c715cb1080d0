"""The request-capture writer process (docs/monitoring.md): `python -m byom_scorer.capture_writer <config>`.

Each worker that captures starts one of these (byom_scorer.capture) and writes its sampled
requests into the writer's standard input, one frame per scored batch: a 4-byte little-endian
length, then `[at, rows, kind, inputs, output names, outputs]` as JSON, the inputs already typed
by the schema (kind 0: one list per column) or, for small all-numeric requests, the rows of the
float64 matrix the model was given (kind 1), typed here; a large batch comes as a pickle of
`[at, rows, inputs, output names, outputs]`, typed numpy arrays written as text here. The writer turns each frame into one
JSON line, and writes gzipped batches of lines under `{uri}/dt=YYYY-MM-DD/`: a folder in local
mode, the artifact bucket on AWS (pyarrow's S3 file system, with the task's credentials, which
may write that deployment's prefix only).

Serializing, compressing and writing run here, in a process of their own with its own
interpreter lock, at a lower CPU priority than the worker: a request never waits for them. The
writer ignores SIGTERM and stops when its input closes (its worker exited or closed it on its
own SIGTERM), after writing every frame it has read; the worker waits for that before exiting.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import pickle
import secrets
import select
import signal
import struct
import sys
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

log = logging.getLogger("byom_scorer")

_HEADER = struct.Struct("<I")
_READ = 1 << 20
#: After each read the writer lets frames gather in the pipe: a worker's write then rarely has
#: to wake it, and it wakes tens of times a second rather than once per request.
_PAUSE_SECONDS = 0.05
_INTEGERS = ("Int32", "Int64")
_LINE = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY


class Sink:
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


class Batcher:
    """Frames → JSON lines per UTC day → a gzipped file once `batch_rows` wait or `flush_seconds`
    after the first."""

    def __init__(self, sink: Sink, config: dict[str, Any]) -> None:
        self._sink = sink
        self._names: list[str] = config["names"]
        # The input columns whose floats from the matrix become another schema type (integers,
        # booleans), and how; the others are written as they are.
        self._typed = [(index, _typer(kind)) for index, kind in enumerate(config["types"]) if _typer(kind) is not None]
        self._second = -1
        self._day = self._prefix = ""
        self._batch_rows: int = config["batchRows"]
        self._flush_seconds: float = config["flushSeconds"]
        self._token = secrets.token_hex(4)
        self._sequence = 0
        self._days: dict[str, list[bytes]] = {}
        self._rows = 0
        self._first_at: float | None = None

    def add(self, frame: bytes) -> None:
        if frame[:1] == b"[":
            at, rows, kind, inputs, names, outputs = orjson.loads(frame)
        else:  # a large batch: pickled numpy arrays from this writer's own worker
            at, rows, inputs, names, outputs = pickle.loads(frame)
            kind = 2
        if kind == 1:  # the rows of a float64 matrix: one column per schema field, typed here
            inputs = list(zip(*inputs, strict=True))  # tuples: orjson writes them as arrays
            for index, typer in self._typed:
                inputs[index] = [typer(v) for v in inputs[index]]
        # The timestamp as datetime would give it (to the microsecond, half to even), written to
        # the millisecond; its date and second are formatted once per second, not per request.
        fraction, whole = math.modf(at)
        second, micros = int(whole), round(fraction * 1_000_000)
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        if second != self._second:
            self._second = second
            stamp = datetime.fromtimestamp(second, UTC)
            self._day, self._prefix = stamp.strftime("%Y-%m-%d"), stamp.strftime("%Y-%m-%dT%H:%M:%S.")
        record = {
            "at": f"{self._prefix}{micros // 1000:03d}Z",
            "rows": rows,
            "input": dict(zip(self._names, inputs, strict=False)),
            "output": dict(zip(names, outputs, strict=False)),
        }
        line = orjson.dumps(record, option=_LINE, default=_plain)
        self._days.setdefault(self._day, []).append(line)
        self._rows += rows
        if self._first_at is None:
            self._first_at = time.monotonic()

    def wait(self) -> float | None:
        """Seconds until the next file is due (0: now), None when nothing waits."""
        if self._first_at is None:
            return None
        if self._rows >= self._batch_rows:
            return 0.0
        return max(0.0, self._first_at + self._flush_seconds - time.monotonic())

    def flush(self) -> None:
        """Writes every line it holds (one file per UTC day the requests fall on)."""
        days, self._days = self._days, {}
        self._rows, self._first_at = 0, None
        for day, lines in days.items():
            self._sequence += 1
            name = f"dt={day}/{datetime.now(UTC):%H%M%S}-{self._token}-{os.getpid()}-{self._sequence:06d}.jsonl.gz"
            try:
                self._sink.write(name, gzip.compress(b"".join(lines), compresslevel=5))
            except Exception:  # noqa: BLE001 - a failed write loses that file, not the ones after it
                log.exception("capture could not write %d requests to %s", len(lines), name)


def _plain(value: Any) -> Any:
    """What orjson cannot write itself: object and other numpy arrays, numpy scalars, anything else as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def _integer(value: float | None) -> int | None:
    return None if value is None else int(value)


def _boolean(value: float | None) -> bool | None:
    return None if value is None else value != 0


def _typer(kind: str) -> Any:
    if kind in _INTEGERS:
        return _integer
    if kind == "Boolean":
        return _boolean
    return None


def run(config: dict[str, Any], source: int = 0) -> None:
    """Reads frames from `source` until it closes, writing batches as they fill or fall due."""
    batcher = Batcher(Sink(config["uri"]), config)
    pending = bytearray()
    while True:
        wait = batcher.wait()
        if wait == 0.0:
            batcher.flush()
            continue
        readable, _, _ = select.select([source], [], [], wait)
        if not readable:
            batcher.flush()
            continue
        chunk = os.read(source, _READ)
        if not chunk:
            break
        if len(chunk) < _READ:
            time.sleep(_PAUSE_SECONDS)
        pending += chunk
        start = 0
        while len(pending) - start >= 4:
            (length,) = _HEADER.unpack_from(pending, start)
            if len(pending) - start - 4 < length:
                break
            try:
                batcher.add(bytes(pending[start + 4 : start + 4 + length]))
            except Exception:  # noqa: BLE001 - one bad frame must not stop the others
                log.exception("capture could not read a captured request")
            start += 4 + length
        del pending[:start]
    if pending:
        log.error("capture lost a partly written request (%d bytes) at shutdown", len(pending))
    # The worker is gone or stopping: no request to yield to, and what is left must be written
    # before the task stops. Back to normal priority where the process may (root, CAP_SYS_NICE).
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    batcher.flush()


def _yield_to_scoring() -> None:
    """Runs the writer at idle priority: the kernel then preempts it the moment its worker wakes
    for a request. At nice 10 a woken worker could wait for the writer's time slice to end (a
    millisecond or more on the shared core: the latency tail). The cost: on a core that scoring
    keeps saturated, the writer falls behind and its worker drops frames (counted)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed
        try:
            os.nice(19)
        except OSError:
            pass


def main() -> None:
    logging.basicConfig(level=os.environ.get("BYOM_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(message)s")
    # Stopped by its input closing, never by a signal meant for the worker or the whole group:
    # it must write what it has read first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _yield_to_scoring()
    run(orjson.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
