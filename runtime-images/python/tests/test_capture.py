"""Request capture (byom_scorer.capture) with the runtime as a real process writing to a folder."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from byom_scorer import capture
from byom_scorer.capture import CaptureWriter, Field
from byom_scorer.convert import Batch
from tests.harness import Runtime, frame_request
from tests.models import mixed_frame, ready_sklearn
from tests.test_scorer_api import ARROW, _encode, _node_scrypt_hash


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    frame, label = mixed_frame()
    root = tmp_path_factory.mktemp("capture")
    # Handles missing values, so a row with a null input is scored (and captured with its null).
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(frame, label)
    return frame, model, ready_sklearn(model, frame, root / "model")


def captured(folder: Path) -> list[dict]:
    """The captured rows: each line is one request with its columns, spread into one dict per row."""
    files = sorted(folder.glob("dt=*/*.jsonl.gz"))
    requests = [json.loads(line) for f in files for line in gzip.decompress(f.read_bytes()).splitlines()]
    rows = []
    for request in requests:
        assert all(len(values) == request["rows"] for part in ("input", "output") for values in request[part].values())
        for i in range(request["rows"]):
            rows.append({
                "at": request["at"],
                "input": {name: values[i] for name, values in request["input"].items()},
                "output": {name: values[i] for name, values in request["output"].items()},
            })
    return rows


def test_every_sampled_row_is_written_typed_when_the_runtime_stops(trained, tmp_path):
    frame, model, ready = trained
    folder = tmp_path / "capture" / "dep-x" / "mdl-x-v1"
    passphrase = "open sesame, capture"
    auth = {"Authorization": f"Bearer {passphrase}"}
    # A flush interval longer than the test: only the clean shutdown writes the rows.
    with Runtime(
        ready,
        workers=2,
        BYOM_PASSPHRASE_HASH=_node_scrypt_hash(passphrase),
        BYOM_CAPTURE_URI=f"file://{folder}",
        BYOM_CAPTURE_PERCENT="100",
        BYOM_CAPTURE_FLUSH_SECONDS="600",
    ) as served:
        for index in range(30):
            assert served.score(frame_request(frame.iloc[index : index + 1]), auth).status == 200
        assert served.score(frame_request(frame.iloc[30:80]), auth).status == 200
        # The deploy workflow's verification request is not user traffic.
        verify = {**auth, "x-byom-shadow": "verify"}
        assert served.score(frame_request(frame.iloc[80:90]), verify).status == 200
        missing = {"fields": ["age", "income", "score", "member"], "rows": [[40, None, 0.5, True]]}
        assert served.score(missing, auth).status == 200
        assert captured(folder) == []
    rows = captured(folder)
    assert len(rows) == 81
    assert not any(passphrase in json.dumps(r) for r in rows)
    by_age_income = {(r["input"]["age"], r["input"]["income"]): r for r in rows}
    expected = model.predict(frame.iloc[:80])
    for index in range(80):
        row = frame.iloc[index]
        record = by_age_income[(int(row.age), float(row.income))]
        assert record["input"] == {
            "age": int(row.age),
            "income": pytest.approx(float(row.income)),
            "score": pytest.approx(float(row.score), rel=1e-6),
            "member": bool(row.member),
        }
        assert list(record["output"].values()) == [int(expected[index])]
        assert record["at"].endswith("Z")
    assert by_age_income[(40, None)]["input"]["income"] is None


def test_a_sample_share_captures_about_that_share_of_requests(trained, tmp_path):
    frame, _, ready = trained
    folder = tmp_path / "capture"
    with Runtime(
        ready, BYOM_CAPTURE_URI=f"file://{folder}", BYOM_CAPTURE_PERCENT="25", BYOM_CAPTURE_FLUSH_SECONDS="0.2"
    ) as served:
        for index in range(400):
            assert served.score(frame_request(frame.iloc[index % 200 : index % 200 + 1])).status == 200
    # Binomial(400, 0.25): mean 100, sd 8.7; these bounds fail about once in a million runs.
    assert 55 <= len(captured(folder)) <= 145


def _writers(pid: int) -> list[int]:
    """The capture writer processes among `pid`'s children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"byom_scorer.capture_writer" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


def _gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return True  # exited, not yet reaped by its (killed) parent's reaper
        time.sleep(0.05)
    return False


def test_a_writer_process_of_its_own_writes_every_request_even_when_its_worker_is_killed(trained, tmp_path):
    frame, model, ready = trained
    folder = tmp_path / "capture"
    served = Runtime(ready, BYOM_CAPTURE_URI=f"file://{folder}", BYOM_CAPTURE_PERCENT="100", BYOM_CAPTURE_FLUSH_SECONDS="600")
    with served:
        [writer] = _writers(served.process.pid)  # one worker: the runtime's own process
        for index in range(20):
            assert served.score(frame_request(frame.iloc[index : index + 1])).status == 200
        # Columnar bodies and V2 are captured typed as well.
        arrow = served.request("POST", "/model/score", _encode(frame.iloc[20:30], ARROW), {"Content-Type": ARROW})
        csv = served.request("POST", "/model/score", _encode(frame.iloc[30:40], "text/csv"), {"Content-Type": "text/csv"})
        assert (arrow.status, csv.status) == (200, 200)
        v2 = {"inputs": [
            {"name": "age", "shape": [2], "datatype": "INT64", "data": frame.age.iloc[40:42].tolist()},
            {"name": "income", "shape": [2], "datatype": "FP64", "data": frame.income.iloc[40:42].tolist()},
            {"name": "score", "shape": [2], "datatype": "FP32", "data": frame.score.iloc[40:42].tolist()},
            {"name": "member", "shape": [2], "datatype": "BOOL", "data": frame.member.iloc[40:42].tolist()},
        ]}
        assert served.request("POST", "/v2/models/test-model/infer", json.dumps(v2).encode()).status == 200
        # No clean shutdown at all: the writer sees its input close and still writes what it read
        # (the worker hands frames over every 50 ms: a kill loses at most its last 50 ms).
        time.sleep(0.5)
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(10)
        assert _gone(writer)
    rows = captured(folder)
    assert len(rows) == 42
    expected = model.predict(frame.iloc[:42])
    by_age_income = {(r["input"]["age"], r["input"]["income"]): r for r in rows}
    for index in range(42):
        row = frame.iloc[index]
        record = by_age_income[(int(row.age), float(row.income))]
        assert record["input"]["member"] is bool(row.member)
        assert record["input"]["score"] == pytest.approx(float(row.score), rel=1e-6)
        assert list(record["output"].values()) == [int(expected[index])]


def test_frames_keep_every_schema_type_through_the_writer_process(tmp_path):
    """Strings with nulls, times, NaN, float32, a float64 matrix of a small numeric request, and
    outputs that are labels, numbers and times."""
    fields = [Field("n", "Int64"), Field("x", "Float64"), Field("flag", "Boolean"), Field("city", "String"),
              Field("seen", "Time64"), Field("f", "Float32")]
    writer = CaptureWriter(f"file://{tmp_path}/typed", 100, fields, flush_seconds=600)
    writer.start()
    writer.offer(
        [np.array([1, 2]), np.array([0.5, np.nan]), np.array([True, False]), np.array(["Oslo", None], dtype=object),
         np.array(["2026-01-02T03:04:05.123", "NaT"], dtype="datetime64[ms]"), np.array([0.25, 1.5], dtype=np.float32)],
        2,
        ["label", "p", "when"],
        [np.array(["yes", "no"], dtype=object), np.array([[0.1, 0.9], [0.8, 0.2]])[:, 1],
         np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[D]")],
    )
    numeric = fields[:3]
    matrix = CaptureWriter(f"file://{tmp_path}/matrix", 100, numeric, flush_seconds=600)
    matrix.start()
    matrix.offer(Batch(None, numeric, matrix=np.array([[3.0, 1.5, 1.0], [4.0, np.nan, 0.0]])), 2, ["y"], [np.array([1, 0])])
    writer.close()
    matrix.close()
    [typed] = [json.loads(line) for f in (tmp_path / "typed").glob("dt=*/*.jsonl.gz") for line in gzip.decompress(f.read_bytes()).splitlines()]
    assert typed["rows"] == 2 and typed["at"].endswith("Z")
    assert typed["input"] == {"n": [1, 2], "x": [0.5, None], "flag": [True, False], "city": ["Oslo", None],
                              "seen": ["2026-01-02T03:04:05.123Z", None], "f": [0.25, 1.5]}
    assert typed["output"] == {"label": ["yes", "no"], "p": [0.9, 0.2],
                               "when": ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"]}
    [small] = [json.loads(line) for f in (tmp_path / "matrix").glob("dt=*/*.jsonl.gz") for line in gzip.decompress(f.read_bytes()).splitlines()]
    assert small["input"] == {"n": [3, 4], "x": [1.5, None], "flag": [True, False]}
    assert small["output"] == {"y": [1, 0]}


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for f in folder.glob("dt=*/*.jsonl.gz") for line in gzip.decompress(f.read_bytes()).splitlines()]


def test_a_stalled_writer_never_blocks_scoring_frames_beyond_the_backlog_are_dropped_and_counted(tmp_path, monkeypatch):
    """The worker has no capture thread and its pipe does not block: with the writer process
    stopped, offer() returns at once, the backlog is bounded, what is over it is counted, and what
    it kept is written once the writer runs again. The writer runs at idle CPU priority."""
    monkeypatch.setattr(capture, "MAX_BACKLOG_BYTES", 256 * 1024)
    fields = [Field("n", "Int64"), Field("x", "Float64")]
    writer = CaptureWriter(f"file://{tmp_path}/stalled", 100, fields, flush_seconds=600)
    threads = threading.active_count()
    writer.start()
    process = writer._process
    assert process is not None
    deadline = time.monotonic() + 20  # the writer sets its priority once its imports are done
    while os.sched_getscheduler(process.pid) != os.SCHED_IDLE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.sched_getscheduler(process.pid) == os.SCHED_IDLE
    os.kill(process.pid, signal.SIGSTOP)
    try:
        offered, slowest = 0, 0.0
        # Far more than the pipe (1 MiB) and the backlog hold: ~4 MiB of frames.
        while offered < 10_000:
            started = time.perf_counter()
            writer.offer([np.arange(40) + offered, np.full(40, 0.5)], 40, ["y"], [np.zeros(40, dtype=np.int64)])
            slowest = max(slowest, time.perf_counter() - started)
            offered += 1
        assert threading.active_count() == threads
        assert writer.dropped > 0
        assert len(writer._backlog) <= capture.MAX_BACKLOG_BYTES
        # Each offer is a serialization and a copy, never a wait for the stopped writer.
        assert slowest < 5
    finally:
        os.kill(process.pid, signal.SIGCONT)
    writer.close()
    lines = _lines(tmp_path / "stalled")
    assert len(lines) == offered - writer.dropped
    # Whole frames, each once: the ones offered before the backlog was full; the rest were dropped.
    assert sorted(line["input"]["n"][0] for line in lines) == list(range(len(lines)))


def test_a_writer_process_that_dies_stops_capture_and_never_scoring(tmp_path):
    """The pipe full (writer stopped), the event loop waits for it to take more; the writer then
    killed: the loop's wait ends (no spinning on a pipe without a reader), capture stops, and
    offers return at once."""
    writer = CaptureWriter(f"file://{tmp_path}/dead", 100, [Field("n", "Int64")], flush_seconds=600)

    async def scenario() -> None:
        writer.start()
        process = writer._process
        assert process is not None
        os.kill(process.pid, signal.SIGSTOP)
        while not writer._watching:  # ~1 MiB into the pipe, the rest waits for the loop
            writer.offer([np.arange(40)], 40, ["y"], [np.zeros(40, dtype=np.int64)])
        process.kill()
        process.wait(10)
        await asyncio.sleep(0.2)  # the loop sees the pipe "writable": the write fails, the wait ends
        assert writer._fd is None and not writer._watching
        cpu = time.process_time()
        await asyncio.sleep(0.5)
        assert time.process_time() - cpu < 0.1  # an idle loop, not one spinning on the dead pipe
        started = time.perf_counter()
        for _ in range(100):
            writer.offer([np.arange(40)], 40, ["y"], [np.zeros(40, dtype=np.int64)])
        assert time.perf_counter() - started < 5

    asyncio.run(scenario())
    writer.close()
