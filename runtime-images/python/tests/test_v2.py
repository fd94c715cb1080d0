"""The Open Inference Protocol (V2) of a real runtime process, scored by the real tritonclient
(its own venv: BYOM_TRITONCLIENT_PYTHON, set by npm run test:py) and by hand-written JSON."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.harness import Runtime
from tests.models import ready_gbm

# Runs in the tritonclient venv: scores the frame (argv[3], JSON columns) with binary tensors
# (tritonclient's default) and again as JSON, and prints what the client decoded.
CLIENT = r"""
import json, sys
import numpy as np
import tritonclient.http as http

url, name, columns = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = http.InferenceServerClient(url=url)
out = {"live": client.is_server_live(), "ready": client.is_model_ready(name),
       "metadata": client.get_model_metadata(name)}
types = {"FP64": np.float64, "FP32": np.float32, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}
for binary in (True, False):
    inputs = []
    for spec in out["metadata"]["inputs"]:
        values = np.array(columns[spec["name"]], dtype=types[spec["datatype"]])
        tensor = http.InferInput(spec["name"], [len(values)], spec["datatype"])
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    outputs = [http.InferRequestedOutput("prediction", binary_data=binary)]
    result = client.infer(name, inputs, outputs=outputs, request_id="r-1")
    out["binary" if binary else "json"] = result.as_numpy("prediction").tolist()
    out["dtype"] = str(result.as_numpy("prediction").dtype)
    out["id"] = result.get_response()["id"]
# No outputs named: the client asks for every output in binary.
inputs = [http.InferInput(s["name"], [2], s["datatype"]) for s in out["metadata"]["inputs"]]
for tensor, spec in zip(inputs, out["metadata"]["inputs"]):
    tensor.set_data_from_numpy(np.array(columns[spec["name"]][:2], dtype=types[spec["datatype"]]))
out["all"] = client.infer(name, inputs).as_numpy("prediction").tolist()
try:
    client.infer("someone-else", inputs)
except Exception as error:
    out["unknown"] = str(error)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model, frame, ready = ready_gbm(tmp_path_factory.mktemp("v2") / "model", n_estimators=20)
    with Runtime(ready, model_id="gbm-v1", BYOM_MODEL_NAME="churn") as runtime:
        yield model, frame, runtime


def _client_python() -> str:
    python = os.environ.get("BYOM_TRITONCLIENT_PYTHON")
    assert python, "BYOM_TRITONCLIENT_PYTHON is unset: run through npm run test:py, which makes the tritonclient venv"
    return python


def test_tritonclient_scores_the_runtime_unchanged(served):
    model, frame, runtime = served
    head = frame.head(50)
    columns = {name: head[name].tolist() for name in head.columns}
    run = subprocess.run(
        [_client_python(), "-c", CLIENT, f"127.0.0.1:{runtime.port}", "churn", json.dumps(columns)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    expected = model.predict(head).tolist()
    assert out["live"] and out["ready"]
    assert out["metadata"]["name"] == "churn"
    assert out["metadata"]["inputs"] == [
        {"name": "age", "datatype": "INT64", "shape": [-1]},
        {"name": "income", "datatype": "FP64", "shape": [-1]},
        {"name": "score", "datatype": "FP32", "shape": [-1]},
        {"name": "member", "datatype": "BOOL", "shape": [-1]},
    ]
    assert out["binary"] == out["json"] == expected
    assert out["dtype"] == "int64" and out["id"] == "r-1"
    assert out["all"] == expected[:2]
    assert "someone-else" in out["unknown"]


def test_json_infer_by_hand_and_its_errors(served):
    model, frame, runtime = served
    head = frame.head(3)
    inputs = [
        {"name": "age", "datatype": "INT64", "shape": [3], "data": head.age.tolist()},
        {"name": "income", "datatype": "FP64", "shape": [3, 1], "data": [[v] for v in head.income.tolist()]},
        {"name": "score", "datatype": "BYTES", "shape": [3], "data": [str(v) for v in head.score.tolist()]},
        {"name": "member", "datatype": "BOOL", "shape": [3], "data": head.member.tolist()},
    ]
    # The runtime alone also answers to its MODEL_ID.
    answer = runtime.request("POST", "/v2/models/gbm-v1/infer", json.dumps({"inputs": inputs}).encode(),
                             {"Content-Type": "application/json"})
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["model_name"] == "gbm-v1"
    assert body["outputs"] == [{"name": "prediction", "datatype": "INT64", "shape": [3], "data": model.predict(head).tolist()}]
    assert runtime.get("/v2").json()["extensions"] == ["binary_tensor_data"]
    assert runtime.get("/v2/health/live").status == 200 and runtime.get("/v2/health/ready").status == 200
    bad_value = [dict(inputs[0], datatype="BYTES", data=["1", "x", "3"]), *inputs[1:]]
    refused = runtime.request("POST", "/v2/models/churn/infer", json.dumps({"inputs": bad_value}).encode())
    assert refused.status == 400 and "row 1 column 'age'" in refused.json()["error"]
    missing = runtime.request("POST", "/v2/models/churn/infer", json.dumps({"inputs": inputs[:3]}).encode())
    assert missing.status == 400 and "'member'" in missing.json()["error"]
    ragged = [dict(inputs[0], shape=[2], data=[1, 2]), *inputs[1:]]
    assert runtime.request("POST", "/v2/models/churn/infer", json.dumps({"inputs": ragged}).encode()).status == 400
    assert runtime.request("POST", "/v2/models/churn/infer", b"{oops").status == 400
    assert runtime.get("/v2/models/nobody").status == 404
