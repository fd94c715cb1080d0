"""Champion/challenger shadow copies (byom_scorer.shadow), with the champion as a real process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from tests.harness import Runtime, expected_rows, frame_request, free_port
from tests.models import mixed_frame, ready_sklearn


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two models that disagree: the champion's and the challenger's."""
    frame, label = mixed_frame()
    root = tmp_path_factory.mktemp("shadow")
    champion = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(frame, label)
    # Trained on the opposite labels: the two answer differently on every row.
    challenger = LogisticRegression(max_iter=2000).fit(frame, 1 - label)
    ready = {}
    for name, model in (("champion", champion), ("challenger", challenger)):
        ready[name] = ready_sklearn(model, frame, root / name)
    return {"frame": frame.head(20), "champion": champion, "challenger": challenger, "ready": ready}


def records_in(path: Path, wanted: int, timeout: float = 30) -> list[dict]:
    """The JSON lines a runtime wrote to stdout, once `wanted` shadow records are there."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
        shadows = [r for r in lines if r.get("event") == "shadow"]
        if len(shadows) >= wanted or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


class FakeChallenger:
    """An HTTP server that records what it is sent and answers once `release` is set."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Message, bytes]] = []
        self.release = threading.Event()
        self.release.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.received.append((self.path, self.headers, body))
                owner.release.wait(30)
                answer = b'{"id":"fake","score":[]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_challenger() -> Iterator[FakeChallenger]:
    fake = FakeChallenger()
    yield fake
    fake.close()


def test_the_champion_answers_and_the_challenger_answer_is_recorded(models, tmp_path):
    frame = models["frame"]
    request = frame_request(frame)
    out = tmp_path / "champion.out"
    with (
        Runtime(models["ready"]["challenger"], model_id="churn-v2") as challenger,
        Runtime(
            models["ready"]["champion"],
            model_id="churn-v1",
            workers=2,
            stdout=out,
            BYOM_SHADOW_URL=f"http://127.0.0.1:{challenger.port}",
        ) as champion,
    ):
        answers = [champion.score(request) for _ in range(6)]
        refused = champion.score({"fields": ["nope"], "rows": [[1]]})
        assert champion.get("/model/schema").status == 200  # not a score request: not mirrored
        # The deploy workflow's own requests (and copies) carry the header: never mirrored.
        assert champion.score(request, {"X-Byom-Shadow": "verify"}).status == 200
        records = records_in(out, 7)

    champion_rows = expected_rows(models["champion"].predict(frame))
    challenger_rows = expected_rows(models["challenger"].predict(frame))
    assert champion_rows != challenger_rows, "the two models must disagree for this test to mean anything"
    for answer in answers:
        assert answer.status == 200
        assert answer.json() == {"id": "churn-v1", "fields": ["prediction"], "score": champion_rows}
    assert refused.status == 400

    shadows = [r for r in records if r["event"] == "shadow"]
    assert len(shadows) == 7, records
    scored = [r for r in shadows if r["championStatus"] == 200]
    assert len(scored) == 6
    for record in scored:
        assert record["modelId"] == "churn-v1"
        assert record["method"] == "POST" and record["path"] == "/model/score"
        assert record["status"] == 200 and "error" not in record
        assert record["championMillis"] >= 0 and record["millis"] >= 0
        assert json.loads(record["body"]) == {"id": "churn-v2", "fields": ["prediction"], "score": challenger_rows}
        assert record["at"].endswith("Z")
    [bad] = [r for r in shadows if r["championStatus"] == 400]
    assert bad["status"] == 400 and "nope" in json.loads(bad["body"])["detail"]


def test_a_dead_challenger_is_recorded_and_the_champion_is_unaffected(models, tmp_path):
    request = frame_request(models["frame"])
    out = tmp_path / "champion.out"
    dead = free_port()  # nothing listens there
    with Runtime(
        models["ready"]["champion"], model_id="churn-v1", stdout=out, BYOM_SHADOW_URL=f"http://127.0.0.1:{dead}/dep-x/shadow"
    ) as champion:
        answers = [champion.score(request) for _ in range(3)]
        records = records_in(out, 3)
        assert champion.get("/readyz").status == 200
        assert champion.process.poll() is None

    expected = expected_rows(models["champion"].predict(models["frame"]))
    assert [a.status for a in answers] == [200, 200, 200]
    assert all(a.json()["score"] == expected for a in answers)
    shadows = [r for r in records if r["event"] == "shadow"]
    assert len(shadows) == 3
    for record in shadows:
        assert record["status"] is None
        assert "ConnectionRefused" in record["error"]
        assert record["championStatus"] == 200
        assert "body" not in record


def test_copies_go_under_the_shadow_path_with_the_callers_authorization(models, tmp_path, fake_challenger):
    request = frame_request(models["frame"].head(2))
    out = tmp_path / "champion.out"
    url = f"http://127.0.0.1:{fake_challenger.port}/dep-x/shadow"
    with Runtime(models["ready"]["champion"], model_id="churn-v1", stdout=out, BYOM_SHADOW_URL=url) as champion:
        assert champion.score(request, {"Authorization": "Bearer a passphrase of the caller"}).status == 200
        records_in(out, 1)

    [(path, headers, body)] = fake_challenger.received
    assert path == "/dep-x/shadow/model/score"
    assert headers["Authorization"] == "Bearer a passphrase of the caller"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Byom-Shadow"] == "copy"
    assert json.loads(body) == request


def test_a_slow_challenger_fills_a_bounded_queue_and_copies_beyond_it_are_dropped(models, tmp_path, fake_challenger):
    request = frame_request(models["frame"].head(2))
    out = tmp_path / "champion.out"
    url = f"http://127.0.0.1:{fake_challenger.port}/dep-x/shadow"
    fake_challenger.release.clear()
    sent = 20
    with Runtime(
        models["ready"]["champion"], model_id="churn-v1", stdout=out, BYOM_SHADOW_URL=url, BYOM_SHADOW_QUEUE="4"
    ) as champion:
        started = time.monotonic()
        statuses = [champion.score(request).status for _ in range(sent)]
        answering = time.monotonic() - started
        fake_challenger.release.set()
        deadline = time.monotonic() + 30
        while True:
            records = records_in(out, 0)
            recorded = sum(r["event"] == "shadow" for r in records)
            dropped = sum(r.get("dropped", 0) for r in records if r["event"] == "shadow-dropped")
            if recorded + dropped >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    assert statuses == [200] * sent
    # The champion never waited for the challenger, which held every copy it got until released.
    assert answering < 10
    # One copy in flight plus a full queue of four; the rest dropped and counted.
    assert recorded <= 5
    assert recorded + dropped == sent
    assert len(fake_challenger.received) == recorded
