"""Shared check: processor then runtime as real processes; the scores equal in-process predict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness import Runtime, expected_rows, frame_request, process_ok, zip_dir


def serve_and_compare(kind: str, source: Path, work: Path, frame: Any, expected: Any, **env: str) -> dict[str, Any]:
    ready = process_ok(kind, zip_dir(source) if kind == "mlflow" else source, work / "ready", **env)
    with Runtime(ready) as served:
        schema = served.get("/model/schema").json()["schema"]
        assert [f["name"] for f in schema["inputFields"]] == [str(c) for c in frame.columns]
        answer = served.score(frame_request(frame))
        assert answer.status == 200, answer.body
        assert answer.json()["score"] == expected_rows(expected)
        sample = served.get("/model/sample_request").json()
        assert served.score(sample).status == 200
        return schema


def pyfunc_predict(directory: Path, frame: Any) -> Any:
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(directory)).predict(frame)
