"""The scorer API of docs/scorer-api.md over real HTTP against a real runtime process."""

from __future__ import annotations

import hashlib
import io
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
from tests.models import mixed_frame, ready_gbm, save_mlflow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    model, frame, ready = ready_gbm(root / "model", n_estimators=30)
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


def test_no_rows_answer_no_scores_with_the_output_fields_without_calling_the_model(runtime, trained):
    _, frame, _, _ = trained
    fields = frame_request(frame.head(1))["fields"]
    answer = runtime.score({"fields": fields, "rows": []})
    assert answer.status == 200, answer.body
    assert answer.json() == {"id": "gbm-1", "fields": ["prediction"], "score": []}
    as_arrow = runtime.request("POST", "/model/score", json.dumps({"fields": fields, "rows": []}).encode(),
                               {"Content-Type": "application/json", "Accept": ARROW})
    assert as_arrow.status == 200
    table = _decode(as_arrow.body, ARROW)
    assert table.num_rows == 0 and str(table.schema.field("prediction").type) == "int64"


def test_no_rows_are_400_when_the_output_fields_are_unknown():
    # A model whose load-time probe failed and whose manifest has no output schema.
    from types import SimpleNamespace

    from byom_scorer.app import _no_outputs
    from byom_scorer.errors import RequestError

    with pytest.raises(RequestError) as caught:
        _no_outputs(SimpleNamespace(output_schema=None))  # type: ignore[arg-type]
    assert caught.value.status == 400 and "send at least one row" in caught.value.message


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


def test_refuses_unknown_media_types_with_415_invalid_json_with_400_and_large_bodies_with_413(runtime, trained):
    _, frame, _, _ = trained
    refused = runtime.request("POST", "/model/score", b"age=1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status == 415
    for accepted in ("application/json", "application/vnd.apache.arrow.stream", "application/vnd.apache.parquet", "text/csv"):
        assert accepted in refused.json()["detail"]
    invalid = runtime.request("POST", "/model/score", b"{not json", {"Content-Type": "application/json"})
    assert invalid.status == 400 and "not valid JSON" in invalid.json()["detail"]
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


def test_the_passphrase_is_checked_before_the_body_is_read(trained):
    import socket

    _, _, ready, _ = trained
    with Runtime(ready, BYOM_PASSPHRASE_HASH=_node_scrypt_hash("open sesame")) as served:
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as client:
            # Headers announcing 100 MB, and not a byte of body: the answer comes at once.
            client.sendall(b"POST /model/score HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                           b"Authorization: Bearer nope\r\nContent-Length: 100000000\r\n\r\n")
            head = client.recv(4096)
        assert head.startswith(b"HTTP/1.1 401 ") and b"passphrase is wrong" in head


def test_failed_attempts_are_limited_per_client_as_the_load_balancer_names_it(trained):
    _, frame, ready, _ = trained
    request = frame_request(frame.head(1))
    good = {"Authorization": "Bearer open sesame"}
    with Runtime(ready, BYOM_PASSPHRASE_HASH=_node_scrypt_hash("open sesame"), BYOM_AUTH_MAX_FAILURES="3") as served:
        # The ALB appends the address it saw: the right-most entry; the rest is the client's word.
        guesser = {"X-Forwarded-For": "1.2.3.4, 10.0.0.5"}
        for _ in range(3):
            assert served.score(request, {**guesser, "Authorization": "Bearer guess"}).status == 401
        blocked = served.score(request, {**guesser, **good})
        assert blocked.status == 429 and "10.0.0.5" in blocked.json()["detail"]
        forged = served.score(request, {"X-Forwarded-For": "10.0.0.9, 10.0.0.5", **good})
        assert forged.status == 429  # a forged left-most entry changes nothing
        assert served.score(request, {"X-Forwarded-For": "1.2.3.4, 10.0.0.6", **good}).status == 200
        assert served.score(request, good).status == 200  # no header: the peer address, not blocked


def test_the_verification_cache_keeps_recent_verdicts_when_full(monkeypatch):
    from byom_scorer import auth

    monkeypatch.setattr(auth, "_MAX_CACHED", 4)
    salt = os.urandom(8)
    key = hashlib.scrypt(b"right", salt=salt, n=2, r=1, p=1, dklen=16)
    check = auth.PassphraseCheck(f"scrypt$2$1$1${salt.hex()}${key.hex()}", max_failures=1000)
    check.require("Bearer right", "c")
    for index in range(20):
        with pytest.raises(auth.RequestError):
            check.require(f"Bearer wrong-{index}", "c")
        check.require("Bearer right", "c")  # in use: never the least recently used
        assert "Bearer right" in check._verdicts and len(check._verdicts) <= 4


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
    # Large bodies (from 64 KiB the collector is off while they are read); the answer must be the
    # model's own, whichever way the values are written, with ids and echoed fields intact.
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


# ---- columnar bodies ------------------------------------------------------------------------

ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"


def _encode(frame, kind: str) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    if kind == ARROW:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=70)
    elif kind == PARQUET:
        pq.write_table(table, sink, row_group_size=70)
    else:
        sink.write(frame.to_csv(index=False).encode())
    return sink.getvalue()


def _decode(body: bytes, kind: str):
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if kind == ARROW:
        return pa.ipc.open_stream(body).read_all()
    if kind == PARQUET:
        return pq.read_table(io.BytesIO(body))
    return pacsv.read_csv(io.BytesIO(body))


@pytest.mark.parametrize("kind", [ARROW, PARQUET, "text/csv"])
def test_columnar_bodies_score_as_json_does_and_answer_in_the_format_asked(runtime, trained, kind):
    model, frame, _, _ = trained
    body = _encode(frame, kind)
    as_json = runtime.request("POST", "/model/score", body, {"Content-Type": kind, "Accept": "application/json"})
    assert as_json.status == 200, as_json.body[:300]
    assert as_json.json() == {"id": "gbm-1", "fields": ["prediction"], "score": expected_rows(model.predict(frame))}
    same_kind = runtime.request("POST", "/model/score", body, {"Content-Type": kind})
    assert same_kind.status == 200 and same_kind.content_type.startswith(kind)
    table = _decode(same_kind.body, kind)
    assert table.column_names == ["prediction"]
    assert str(table.schema.field("prediction").type) == "int64"  # typed by the output schema
    assert table.column("prediction").to_pylist() == model.predict(frame).tolist()
    # A JSON request may ask for a columnar answer as well.
    parquet = runtime.request("POST", "/model/score", json.dumps(frame_request(frame)).encode(),
                              {"Content-Type": "application/json", "Accept": PARQUET})
    assert parquet.status == 200
    assert _decode(parquet.body, PARQUET).column("prediction").to_pylist() == model.predict(frame).tolist()


def test_columnar_errors_name_the_column_and_the_row(runtime, trained):
    _, frame, _, _ = trained
    text = frame.head(150).astype(object)
    text.loc[140, "income"] = "lots"
    answer = runtime.request("POST", "/model/score", text.to_csv(index=False).encode(), {"Content-Type": "text/csv"})
    assert answer.status == 400 and "row 140 column 'income'" in answer.json()["detail"], answer.body
    missing = runtime.request("POST", "/model/score", frame.drop(columns="member").to_csv(index=False).encode(),
                              {"Content-Type": "text/csv"})
    assert missing.status == 400 and "missing required column 'member'" in missing.json()["detail"]
    garbage = runtime.request("POST", "/model/score", b"not arrow at all", {"Content-Type": ARROW})
    assert garbage.status == 400 and "not a valid" in garbage.json()["detail"]
    refused = runtime.request("POST", "/model/score", _encode(frame, ARROW), {"Content-Type": ARROW, "Accept": "image/png"})
    assert refused.status == 406


class _CountingFile(io.RawIOBase):
    """A body file that records how far it has been read."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._file.readinto(buffer)
        self.position += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def test_a_large_csv_is_read_predicted_and_answered_batch_by_batch(trained, tmp_path, monkeypatch):
    # Bounded memory by construction: the body (spooled to disk by the server) is read a block
    # at a time, each batch predicted and written out before the next is read.
    from byom_scorer import formats
    from byom_scorer.app import ScorerApp, Streamed
    from byom_scorer.config import Settings
    from byom_scorer.model import load_predictor

    model, _, ready, _ = trained
    monkeypatch.setattr(formats, "CSV_BLOCK_BYTES", 256 * 1024)  # a smaller body shows the same
    frame, _ = mixed_frame(rows=600_000, seed=8)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    app = ScorerApp(Settings(ready, "big", 0, "127.0.0.1", 1, 1 << 20, None, None, False))
    predictor = load_predictor(ready, "big", False)
    app.model_loaded(predictor)
    body = _CountingFile(path)
    seen: list[tuple[int, int]] = []  # (rows predicted, bytes of the body read by then)
    predict = predictor.predict

    def watching(columns, rows):
        seen.append((rows, body.position))
        return predict(columns, rows)

    predictor.predict = watching  # type: ignore[method-assign]
    status, kind, answer = app.handle(b"POST", "/model/score", "", {b"content-type": b"text/csv"}, b"", io.BufferedReader(body))
    assert status == 200 and isinstance(answer, Streamed)
    assert len(seen) >= 600_000 // formats.BATCH_ROWS and all(rows <= formats.BATCH_ROWS for rows, _ in seen)
    size = path.stat().st_size
    # Arrow reads ahead of the batch it hands out by about 8 MiB (or 8 blocks): a bounded
    # distance, whatever the body's size.
    assert seen[0][1] <= 10 * 2**20 < size / 2, f"{seen[0][1]} of {size} bytes read before predicting"
    # How far the reader is ahead of the rows predicted so far stays bounded for the whole body
    # (measured against the rows consumed, so a busy machine's timing cannot move it).
    predicted = 0
    for rows, read in seen:
        predicted += rows
        ahead = read - size * predicted / 600_000
        assert ahead <= 10 * 2**20 + 2 * formats.CSV_BLOCK_BYTES, f"{ahead:.0f} bytes read past row {predicted}"
    predictions = _decode(answer.file.read(), "text/csv").column("prediction").to_pylist()
    assert predictions == model.predict(frame).tolist()
