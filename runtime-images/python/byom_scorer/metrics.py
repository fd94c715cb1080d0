"""Scoring metrics per deployment and target, written as CloudWatch embedded metric format (EMF).

Each worker counts its own scoring requests (requests, rows, 4xx, 5xx, a latency and a scoring-time
histogram) and, every BYOM_METRICS_INTERVAL_SECONDS and on SIGTERM, writes one EMF line to stdout
(docs/monitoring.md). On AWS the task's log driver puts it in CloudWatch Logs, which turns it into
metrics: the model container makes no AWS call and needs no egress. Local mode's supervisor appends
the same lines to `<home>/metrics/<deploymentId>.jsonl`, and the API aggregates the workers' lines
when it reads them, as CloudWatch does.

A champion's shadow thread also counts how the challenger's answers compare with its own
(`Comparison`), emitted the same way with the deployment alone as dimension.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from byom_scorer.records import write_record

NAMESPACE = "Byom/Scoring"
#: CloudWatch drops a histogram of more than 100 distinct values (EMF "Values"/"Counts").
MAX_BINS = 100
#: Bins 10 % wide on a log scale: a percentile read from them is within ~5 % of the exact one.
_BIN_WIDTH = math.log(1.1)
_SMALLEST_MS = 0.001
#: Numbers in a champion's and a challenger's answers agree when |a - b| <= tolerance * max(1, |a|, |b|).
DEFAULT_TOLERANCE = 1e-6
_SCORE_PATH = "/model/score"


class Histogram:
    """Counts of values in log-spaced bins, plus exact count, sum, min and max."""

    __slots__ = ("bins", "count", "total", "low", "high")

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0

    def add(self, value: float) -> None:
        # On every request's path: plain comparisons rather than min()/max() calls.
        if value < _SMALLEST_MS:
            value = _SMALLEST_MS
        index = math.floor(math.log(value) / _BIN_WIDTH)
        bins = self.bins
        bins[index] = bins.get(index, 0) + 1
        self.count += 1
        self.total += value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def emf(self) -> dict[str, Any]:
        """The EMF histogram value: bin midpoints and their counts, at most MAX_BINS of them (bins
        are merged pairwise, doubling their width, until they fit)."""
        bins, width = self.bins, 1
        while len(bins) > MAX_BINS:
            width *= 2
            merged: dict[int, int] = {}
            for index, count in bins.items():
                merged[index // 2] = merged.get(index // 2, 0) + count
            bins = merged
        ordered = sorted(bins)
        return {
            "Values": [round(math.exp((i + 0.5) * width * _BIN_WIDTH), 4) for i in ordered],
            "Counts": [bins[i] for i in ordered],
            "Max": round(self.high, 4),
            "Min": round(self.low, 4),
            "Count": self.count,
            "Sum": round(self.total, 4),
        }


class _Window:
    """What one worker counted since its last line, for one kind of traffic."""

    __slots__ = ("requests", "rows", "client_errors", "server_errors", "latency", "scoring")

    def __init__(self) -> None:
        self.requests = 0
        self.rows = 0
        self.client_errors = 0
        self.server_errors = 0
        self.latency = Histogram()
        self.scoring = Histogram()


class Comparison:
    """Champion vs challenger over the shadow copies (docs/monitoring.md, "Champion/challenger")."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.tolerance = tolerance
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.copies = 0
        self.failed = 0
        self.rows = 0
        self.agreed = 0
        self.champion = Histogram()
        self.challenger = Histogram()
        self.diffs: dict[str, list[float]] = {}  # column -> [count, sum, min, max] of |a - b|

    def add(
        self,
        champion_answer: bytes | None,
        champion_millis: float,
        record: dict[str, object],
        champion_type: bytes | None = None,
    ) -> None:
        """One copy's outcome: `record` is the shadow record (challenger status, millis, body and
        its `contentType`); `champion_type` the champion's answer's Content-Type (JSON if None)."""
        ok = record.get("status") == 200
        compared = _compare(champion_answer, record, self.tolerance, champion_type) if ok else None
        with self._lock:
            self.copies += 1
            self.champion.add(champion_millis)
            millis = record.get("millis")
            if isinstance(millis, (int, float)):
                self.challenger.add(float(millis))
            status = record.get("status")
            if not isinstance(status, int) or status >= 500 or (status >= 400 and record.get("championStatus") == 200):
                self.failed += 1
            if compared is None:
                return
            rows, agreed, diffs = compared
            self.rows += rows
            self.agreed += agreed
            for column, values in diffs.items():
                if not values:
                    continue
                stats = self.diffs.setdefault(column, [0, 0.0, math.inf, 0.0])
                stats[0] += len(values)
                stats[1] += sum(values)
                stats[2] = min(stats[2], min(values))
                stats[3] = max(stats[3], max(values))

    def take(self) -> dict[str, Any] | None:
        with self._lock:
            if self.copies == 0:
                return None
            taken = {
                "copies": self.copies,
                "failed": self.failed,
                "rows": self.rows,
                "agreed": self.agreed,
                "champion": self.champion,
                "challenger": self.challenger,
                "diffs": self.diffs,
            }
            self._reset()
            return taken


def _is_number_text(value: str) -> bool:
    """A float as the scorer writes it (a decimal point, exponent, nan or inf): compared with the
    tolerance; integers, labels and booleans must be equal."""
    return any(c in value for c in ".eEnN") and _float(value) is not None


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _answer_rows(answer: bytes | str | None, content_type: bytes | str | None) -> tuple[list[str], list[list[Any]]] | None:
    """An answer's field names and rows of text, whatever its format: the scorer's JSON, or an
    Arrow, Parquet or CSV table (columnar requests are answered in kind); None if unreadable."""
    if answer is None:
        return None
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    try:
        if kind == "application/json" or kind.endswith("+json"):
            document = orjson.loads(answer)
            return document["fields"], document["score"]
        import pyarrow as pa

        data = pa.BufferReader(answer.encode() if isinstance(answer, str) else answer)
        if kind == "application/vnd.apache.arrow.stream":
            table = pa.ipc.open_stream(data).read_all()
        elif kind == "application/vnd.apache.parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(data)
        elif kind == "text/csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(data)
        else:
            return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OSError):
        return None  # pyarrow's errors are ValueError/OSError subclasses
    columns = [[_cell(v) for v in column.to_pylist()] for column in table.columns]
    return list(table.column_names), [list(row) for row in zip(*columns, strict=True)]


def _cell(value: object) -> object:
    """A table's value as the JSON answer writes it: floats keep a decimal point (numbers), the rest text."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _compare(
    champion_answer: bytes | None, record: dict[str, object], tolerance: float, champion_type: bytes | None = None
) -> tuple[int, int, dict[str, list[float]]] | None:
    """(rows compared, rows agreeing, |difference| per numeric output column), or None when the two
    answers cannot be compared row by row (unreadable, different row counts, no common column)."""
    body = record.get("body")
    if champion_answer is None or not isinstance(body, (str, bytes)):
        return None
    content_type = record.get("contentType")
    mine = _answer_rows(champion_answer, champion_type)
    theirs = _answer_rows(body, content_type if isinstance(content_type, (str, bytes)) else None)
    if mine is None or theirs is None:
        return None
    (my_fields, my_rows), (their_fields, their_rows) = mine, theirs
    if len(my_rows) != len(their_rows):
        return None
    theirs_at = {name: i for i, name in enumerate(their_fields)}
    common = [(name, i, theirs_at[name]) for i, name in enumerate(my_fields) if name in theirs_at]
    if not common or not my_rows:
        return None
    numeric = {name for name, i, _ in common if all(_is_number_text(str(row[i])) for row in my_rows)}
    labels = [c for c in common if c[0] not in numeric]
    diffs: dict[str, list[float]] = {name: [] for name in numeric}
    agreed = 0
    for mine_row, their_row in zip(my_rows, their_rows, strict=True):
        for name, i, j in common:
            if name in numeric:
                a, b = _float(mine_row[i]), _float(their_row[j])
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
                    diffs[name].append(abs(a - b))
        # Labels decide when the answer has any (a classifier's probabilities may differ while
        # its label agrees); otherwise every number must be within the tolerance.
        if labels:
            same = all(str(mine_row[i]) == str(their_row[j]) for _, i, j in labels)
        else:
            same = True
            for _, i, j in common:
                a, b = _float(mine_row[i]), _float(their_row[j])
                if a is None or b is None or not abs(a - b) <= tolerance * max(1.0, abs(a), abs(b)):
                    same = False
                    break
        agreed += same
    return len(my_rows), agreed, diffs


class Metrics:
    """One worker's counters; `observe` is called once per request, `scored` once per prediction."""

    def __init__(
        self,
        deployment_id: str,
        target: str,
        interval: float = 60.0,
        out_fd: int = 1,
        clock: Callable[[], float] = time.time,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        self.deployment_id = deployment_id
        self.target = target
        self.interval = interval
        self._out_fd = out_fd
        self._clock = clock
        # Re-entrant: the SIGTERM handler flushes on the main thread, possibly inside observe().
        self._lock = threading.RLock()
        self._user = _Window()
        self._shadow = _Window()
        self._pending_rows = 0
        self._pending_seconds = 0.0
        self.comparison = Comparison(tolerance)
        #: With capture on: the capture writer's count of requests it dropped so far (capture.py);
        #: each line reports the ones since the previous line as CaptureDropped.
        self.capture_dropped: Callable[[], int] | None = None
        self._dropped_reported = 0
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @staticmethod
    def from_env(model_id: str) -> Metrics | None:
        deployment = os.environ.get("BYOM_DEPLOYMENT_ID")
        if not deployment or os.environ.get("BYOM_METRICS", "on").lower() == "off":
            return None
        return Metrics(
            deployment,
            model_id,
            interval=float(os.environ.get("BYOM_METRICS_INTERVAL_SECONDS", "60")),
            tolerance=float(os.environ.get("BYOM_SHADOW_TOLERANCE", str(DEFAULT_TOLERANCE))),
        )

    def scored(self, rows: int, seconds: float) -> None:
        """A prediction of the request being answered (a columnar body makes one per batch)."""
        self._pending_rows += rows
        self._pending_seconds += seconds

    def observe(self, path: str, status: int, seconds: float, shadow: bytes | None) -> None:
        """The answer to one request: `shadow` is its x-byom-shadow header (copy, verify or None)."""
        rows, scoring = self._pending_rows, self._pending_seconds
        self._pending_rows, self._pending_seconds = 0, 0.0
        if not _counted(path, shadow):
            return
        with self._lock:
            window = self._user if shadow is None else self._shadow
            window.requests += 1
            window.rows += rows
            if 400 <= status < 500:
                window.client_errors += 1
            elif status >= 500:
                window.server_errors += 1
            window.latency.add(seconds * 1000)
            if rows:
                window.scoring.add(scoring * 1000)
        self._start()

    def refused(self, path: str, status: int, shadow: bytes | None) -> None:
        """A scoring request the server refused before the app saw its body: a missing or wrong
        passphrase (401), too many failures (429), a body over the limit (413). A request and a
        4xx; not in the latency histogram, which times answers to whole requests."""
        if not _counted(path, shadow):
            return
        with self._lock:
            window = self._user if shadow is None else self._shadow
            window.requests += 1
            window.client_errors += 1
        self._start()

    def _start(self) -> None:
        # Started in the worker that serves (threads do not survive the supervisor's fork).
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
            self._thread.start()
            if threading.current_thread() is threading.main_thread():
                _flush_on_sigterm(self.flush)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        """Writes what was counted since the last flush (nothing when nothing happened)."""
        with self._lock:
            user, self._user = self._user, _Window()
            shadow, self._shadow = self._shadow, _Window()
        stamp = int(self._clock() * 1000)
        for window, dimensions in (
            (user, [["DeploymentId", "Target"], ["DeploymentId"]]),
            # Copies count for the challenger's own series, not as the deployment's traffic.
            (shadow, [["DeploymentId", "Target"]]),
        ):
            if window.requests:
                write_record(self._document(stamp, window, dimensions, window is user), self._out_fd)
        taken = self.comparison.take()
        if taken is not None:
            for document in self._comparison_documents(stamp, taken):
                write_record(document, self._out_fd)

    def _document(self, stamp: int, window: _Window, dimensions: list[list[str]], user: bool) -> dict[str, Any]:
        values: dict[str, Any] = {
            "Requests": window.requests,
            "Rows": window.rows,
            "Errors4xx": window.client_errors,
            "Errors5xx": window.server_errors,
            "Latency": window.latency.emf(),
        }
        if window.scoring.count:
            values["ScoringTime"] = window.scoring.emf()
        if user and self.capture_dropped is not None:
            # Drops happen only while requests are offered, so a line with requests carries them.
            dropped = self.capture_dropped()
            values["CaptureDropped"] = dropped - self._dropped_reported
            self._dropped_reported = dropped
        return _emf(stamp, dimensions, {"DeploymentId": self.deployment_id, "Target": self.target}, values)

    def _comparison_documents(self, stamp: int, taken: dict[str, Any]) -> list[dict[str, Any]]:
        values: dict[str, Any] = {
            "ShadowCopies": taken["copies"],
            "ShadowFailures": taken["failed"],
            "ShadowRowsCompared": taken["rows"],
            "ShadowRowsAgreed": taken["agreed"],
            "ShadowChampionLatency": taken["champion"].emf(),
        }
        if taken["challenger"].count:
            values["ShadowChallengerLatency"] = taken["challenger"].emf()
        documents = [_emf(stamp, [["DeploymentId"]], {"DeploymentId": self.deployment_id}, values)]
        for column, (count, total, low, high) in taken["diffs"].items():
            # A statistic set: its Average is the mean absolute difference of the column.
            diff = {"Count": count, "Sum": total, "Min": low, "Max": high}
            documents.append(
                _emf(
                    stamp,
                    [["DeploymentId", "Output"]],
                    {"DeploymentId": self.deployment_id, "Output": column},
                    {"ShadowAbsDiff": diff},
                )
            )
        return documents


def _counted(path: str, shadow: bytes | None) -> bool:
    """Scoring requests only, and not the deploy workflow's verification (`x-byom-shadow: verify`)."""
    if not (path == _SCORE_PATH or (path.startswith("/v2/models/") and path.endswith("/infer"))):
        return False
    return shadow is None or shadow == b"copy"


_UNITS = {
    "Latency": "Milliseconds",
    "ScoringTime": "Milliseconds",
    "ShadowChampionLatency": "Milliseconds",
    "ShadowChallengerLatency": "Milliseconds",
    "ShadowAbsDiff": "None",
}


def _emf(stamp: int, dimensions: list[list[str]], keys: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    metrics = [{"Name": name, "Unit": _UNITS.get(name, "Count")} for name in values]
    directive = {"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics}
    return {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}, **keys, **values}


def _flush_on_sigterm(flush: Callable[[], None]) -> None:
    """A clean stop (ECS and local mode send SIGTERM) writes the last window before exiting."""
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: object) -> None:
        flush()
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)
