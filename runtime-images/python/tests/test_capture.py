"""Request capture (byom_scorer.capture) with the runtime as a real process writing to a folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import mlflow.sklearn
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from tests.harness import Runtime, frame_request, process_ok, zip_dir
from tests.models import mixed_frame, save_mlflow
from tests.test_scorer_api import _node_scrypt_hash


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    frame, label = mixed_frame()
    root = tmp_path_factory.mktemp("capture")
    # Handles missing values, so a row with a null input is scored (and captured with its null).
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(frame, label)
    save_mlflow(mlflow.sklearn.save_model, root / "model", model, frame, model.predict(frame), serialization_format="cloudpickle")
    return frame, model, process_ok("mlflow", zip_dir(root / "model"), root / "ready")


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
