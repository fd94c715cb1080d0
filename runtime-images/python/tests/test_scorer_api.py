"""The scorer API of DESIGN §4 over real HTTP against a real runtime process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from tests.harness import Runtime, expected_rows, frame_request, process_ok, zip_dir
from tests.models import mixed_frame, save_mlflow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    frame, label = mixed_frame()
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(frame, label)
    root = tmp_path_factory.mktemp("api")
    save_mlflow(mlflow.sklearn.save_model, root / "model", model, frame, model.predict(frame), serialization_format="cloudpickle")
    ready = process_ok("mlflow", zip_dir(root / "model"), root / "ready")
    return model, frame, ready, root


@pytest.fixture(scope="module")
def runtime(trained):
    _, _, ready, root = trained
    batch = root / "batch"
    batch.mkdir()
    with Runtime(ready, model_id="gbm-1", BYOM_BATCH_DIR=str(batch), BYOM_MAX_BODY_BYTES="200000") as served:
        served.batch_dir = batch  # type: ignore[attr-defined]
        yield served


def test_readyz_answers_503_until_the_model_is_loaded(trained):
    _, _, ready, _ = trained
    with Runtime(ready) as served:
        assert served.first_status == 503
        assert served.get("/readyz").status == 200
        assert served.get("/healthz").status == 200


def test_answers_id_schema_capabilities_and_sample_request(runtime):
    assert runtime.get("/model/id").body == b"gbm-1"
    schema = runtime.get("/model/schema").json()
    assert schema["id"] == "gbm-1"
    assert schema["schema"]["inputFields"] == [
        {"name": "age", "dataType": "Int64"},
        {"name": "income", "dataType": "Float64"},
        {"name": "score", "dataType": "Float32"},
        {"name": "member", "dataType": "Bool"},
    ]
    assert schema["schema"]["outputFields"] == [{"name": "prediction", "dataType": "Int64"}]
    assert runtime.get("/model/capabilities").json() == ["SCORE"]
    sample = runtime.get("/model/sample_request").json()
    assert all(isinstance(v, str) for v in sample["rows"][0])
    assert runtime.score(sample).status == 200


def test_scores_what_the_model_predicts_in_process(runtime, trained):
    model, frame, _, _ = trained
    answer = runtime.score(frame_request(frame))
    assert answer.status == 200
    body = answer.json()
    assert body["id"] == "gbm-1" and body["fields"] == ["prediction"]
    assert body["score"] == expected_rows(model.predict(frame))


def test_accepts_strings_and_fields_in_any_order(runtime, trained):
    model, frame, _, _ = trained
    head = frame.head(5)
    fields = ["member", "score", "income", "age"]
    rows = [[str(r.member).lower(), str(r.score), repr(r.income), str(r.age)] for r in head.itertuples()]
    body = runtime.score({"fields": fields, "rows": rows}).json()
    assert body["score"] == expected_rows(model.predict(head))


def test_includes_fields_and_ids_in_output(runtime, trained):
    _, frame, _, _ = trained
    request = frame_request(frame.head(2))
    request["fields"].append("key")
    for row, key in zip(request["rows"], ["a", "b"], strict=True):
        row.append(key)
    body = runtime.score({**request, "idField": "key", "includeFieldsInOutput": ["age"]}).json()
    assert body["fields"] == ["key", "age", "prediction"]
    assert [row[:2] for row in body["score"]] == [["a", str(frame.age[0])], ["b", str(frame.age[1])]]


def test_generates_ids_when_the_id_field_is_absent_and_can_omit_field_names(runtime, trained):
    _, frame, _, _ = trained
    body = runtime.score({**frame_request(frame.head(3)), "idField": "rid", "noFieldNamesInOutput": True}).json()
    assert "fields" not in body
    ids = [row[0] for row in body["score"]]
    assert len(set(ids)) == 3 and all(len(i) == 36 for i in ids)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: {**r, "fields": r["fields"][:-1], "rows": [row[:-1] for row in r["rows"]]}, "missing required field 'member'"),
        (lambda r: {**r, "fields": [*r["fields"], "x"], "rows": [[*row, 1] for row in r["rows"]]}, "unknown field 'x'"),
        (lambda r: {**r, "fields": [*r["fields"], "age"], "rows": [[*row, 1] for row in r["rows"]]}, "'age' appears twice"),
        (lambda r: {**r, "rows": [r["rows"][0], r["rows"][1][:-1]]}, "rows[1] has 3 values"),
        (lambda r: {**r, "rows": [r["rows"][0], ["x", *r["rows"][1][1:]]]}, "rows[1] field 'age'"),
        (lambda r: {**r, "rows": [["1.5", *r["rows"][0][1:]]]}, "rows[0] field 'age'"),
        (lambda r: {**r, "includeFieldsInOutput": ["nope"]}, "'nope'"),
        (lambda r: [1, 2], "JSON object"),
    ],
)
def test_rejects_bad_requests_with_400_naming_field_and_row(runtime, trained, mutate, needle):
    _, frame, _, _ = trained
    answer = runtime.score(mutate(frame_request(frame.head(2))))
    assert answer.status == 400
    assert needle in answer.json()["detail"]


def test_refuses_non_json_with_415_and_large_bodies_with_413(runtime, trained):
    _, frame, _, _ = trained
    assert runtime.request("POST", "/model/score", b"age=1", {"Content-Type": "text/csv"}).status == 415
    assert runtime.request("POST", "/model/score", b"{not json", {"Content-Type": "application/json"}).status == 415
    big = frame_request(frame.sample(8000, replace=True, random_state=1))
    answer = runtime.score(big)
    assert answer.status == 413 and "limit" in answer.json()["detail"]
    assert runtime.get("/readyz").status == 200


def test_unknown_paths_are_404_with_a_detail(runtime):
    answer = runtime.get("/nope")
    assert answer.status == 404 and "detail" in answer.json()


def test_scores_a_csv_from_the_batch_folder_without_path_escapes(runtime, trained):
    model, frame, _, root = trained
    frame.head(4).to_csv(runtime.batch_dir / "four.csv", index=False)
    body = runtime.get("/model/score?file=four.csv").json()
    assert body["score"] == expected_rows(model.predict(frame.head(4)))
    (root / "secret.csv").write_text("age\n1\n")
    assert runtime.get("/model/score?file=../secret.csv").status == 400
    assert runtime.get("/model/score?file=/etc/passwd").status == 400
    assert runtime.get("/model/score?file=missing.csv").status == 404


def _node_scrypt_hash(passphrase: str) -> str:
    """The hash as the TypeScript deployer makes it, with Node's crypto when Node is here."""
    salt = os.urandom(16)
    node = shutil.which("node")
    if node:
        script = (
            "const c=require('node:crypto');const s=Buffer.from(process.argv[2],'hex');"
            "process.stdout.write(c.scryptSync(process.argv[1],s,32,{N:16384,r:8,p:1}).toString('hex'))"
        )
        key = subprocess.run([node, "-e", script, passphrase, salt.hex()], capture_output=True, text=True, check=True).stdout
    else:
        key = hashlib.scrypt(passphrase.encode(), salt=salt, n=16384, r=8, p=1, dklen=32).hex()
    return f"scrypt$16384$8$1${salt.hex()}${key}"


def test_a_passphrase_protected_runtime_answers_401_without_the_bearer_passphrase(trained):
    _, frame, ready, _ = trained
    with Runtime(ready, BYOM_PASSPHRASE_HASH=_node_scrypt_hash("open sesame")) as served:
        request = frame_request(frame.head(1))
        assert served.score(request).status == 401
        assert served.score(request, {"Authorization": "Bearer wrong"}).status == 401
        assert served.score(request, {"Authorization": "Bearer open sesame"}).status == 200
        assert served.get("/model/schema", Authorization="Bearer open sesame").status == 200
        assert served.get("/readyz").status == 200


def test_predict_proba_switch_gives_one_field_per_class(trained):
    model, frame, ready, _ = trained
    with Runtime(ready, BYOM_PREDICT_PROBA="true") as served:
        body = served.score(frame_request(frame.head(10))).json()
        assert body["fields"] == ["prediction.0", "prediction.1"]
        assert body["score"] == expected_rows(model.predict_proba(frame.head(10)))
        outputs = served.get("/model/schema").json()["schema"]["outputFields"]
        assert [f["name"] for f in outputs] == ["prediction.0", "prediction.1"]


def test_honours_mlflow_pyfunc_predict_fn(tmp_path):
    frame, label = mixed_frame()
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(frame, label)
    save_mlflow(
        mlflow.sklearn.save_model, tmp_path / "m", model, frame, model.predict_proba(frame),
        serialization_format="cloudpickle", pyfunc_predict_fn="predict_proba",
    )
    ready = process_ok("mlflow", zip_dir(tmp_path / "m"), tmp_path / "ready")
    assert json.loads((ready / "byom-model.json").read_text())["predictFn"] == "predict_proba"
    with Runtime(ready) as served:
        body = served.score(frame_request(frame.head(5))).json()
        assert body["score"] == expected_rows(model.predict_proba(frame.head(5)))
        assert body["fields"] == ["prediction.0", "prediction.1"]


def test_two_workers_share_the_port_and_agree(trained):
    model, frame, ready, _ = trained
    with Runtime(ready, workers=2) as served:
        answers = [served.score(frame_request(frame.head(20))).json()["score"] for _ in range(8)]
        assert all(a == expected_rows(model.predict(frame.head(20))) for a in answers)


def test_a_runtime_without_a_ready_model_exits_with_a_reason(tmp_path):
    served = Runtime(tmp_path)
    assert served.process.wait(timeout=60) != 0
    assert "byom-model.json" in served.process.stderr.read()


def test_large_batches_typed_or_as_text_score_what_the_model_predicts(trained):
    # Bodies from 64 KiB go through the native reader (byom_scorer.fast_rows); the answer must be
    # the model's own, whichever way the values are written, with ids and echoed fields intact.
    model, _, ready, _ = trained
    frame, _ = mixed_frame(rows=4000, seed=3)
    expected = expected_rows(model.predict(frame))
    typed = frame_request(frame)
    text = {
        "fields": typed["fields"],
        "rows": [[("true" if v else "false") if isinstance(v, bool) else str(v) for v in row] for row in typed["rows"]],
    }
    # Two workers: batches from BYOM_SPLIT_ROWS rows are predicted half in each (byom_scorer.peer).
    with Runtime(ready, model_id="big", workers=2) as served:
        for payload in (typed, text):
            assert len(json.dumps(payload)) > 64 * 1024
            answer = served.score(payload)
            assert answer.status == 200, answer.body[:300]
            assert answer.json()["score"] == expected
        ids = [f"row-{i}" for i in range(len(frame))]
        echoed = {
            "fields": ["rowId", *typed["fields"]],
            "rows": [[row_id, *row] for row_id, row in zip(ids, typed["rows"], strict=True)],
            "idField": "rowId",
            "includeFieldsInOutput": ["age"],
        }
        body = served.score(echoed).json()
        assert body["fields"] == ["rowId", "age", "prediction"]
        assert body["score"] == [[i, str(a), *p] for i, a, p in zip(ids, frame.age.tolist(), expected, strict=True)]
        broken = json.loads(json.dumps(typed))
        broken["rows"][2500][1] = "lots"
        refused = served.score(broken)
        assert refused.status == 400
        assert "rows[2500]" in refused.json()["detail"] and "'income'" in refused.json()["detail"]
    log = served.process.stderr.read()
    assert "split between workers" in log and "predicting it here" not in log, log
