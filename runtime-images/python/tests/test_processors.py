"""The processors' contract: SOURCE_PATH in, a ready model under TARGET_PATH, or one line why not."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import joblib
import mlflow.sklearn
import pytest
from sklearn.linear_model import LogisticRegression

from tests.harness import run_processor, zip_dir
from tests.models import mixed_frame, save_mlflow

SCHEMA = json.dumps([{"name": "age", "type": "int64"}, {"name": "income", "type": "FLOAT64"}])


@pytest.fixture(scope="module")
def mlflow_dir(tmp_path_factory) -> Path:
    frame, label = mixed_frame()
    model = LogisticRegression(max_iter=500).fit(frame, label)
    # MLflow's default serialization (skops) for a model type it trusts.
    return save_mlflow(mlflow.sklearn.save_model, tmp_path_factory.mktemp("p") / "lr", model, frame, model.predict(frame))


def fails(result, needle: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def test_mlflow_processor_writes_a_manifest_with_schema_flavor_id_and_sample(mlflow_dir, tmp_path):
    result = run_processor("mlflow", zip_dir(mlflow_dir), tmp_path / "out")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "byom-model.json").read_text())
    assert manifest["framework"] == "sklearn" and manifest["loader"] == "mlflow"
    assert manifest["flavors"] == ["python_function", "sklearn"]
    assert manifest["inputSchema"][0] == {"name": "age", "type": "Int64"}
    assert manifest["outputSchema"] == [{"name": "prediction", "type": "Int64"}]
    assert manifest["modelId"] and len(manifest["sha256"]) == 64
    assert manifest["sampleRequest"]["fields"] == ["age", "income", "score", "member"]
    assert (tmp_path / "out" / "model" / "MLmodel").is_file()


def test_mlflow_processor_accepts_a_zip_of_the_model_folder_itself(mlflow_dir, tmp_path):
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in mlflow_dir.rglob("*"):
            zipped.write(file, Path("my-model") / file.relative_to(mlflow_dir))
    assert run_processor("mlflow", archive, tmp_path / "out").returncode == 0
    assert (tmp_path / "out" / "model" / "MLmodel").is_file()


def _zip_with(tmp_path: Path, mlflow_dir: Path, name: str, data: bytes, mode: int | None = None) -> Path:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in mlflow_dir.rglob("*"):
            zipped.write(file, file.relative_to(mlflow_dir))
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zipped.writestr(info, data)
    return archive


def test_mlflow_processor_refuses_zip_slip_links_and_bombs(mlflow_dir, tmp_path):
    fails(run_processor("mlflow", _zip_with(tmp_path, mlflow_dir, "../escape.txt", b"x"), tmp_path / "a"), "zip-slip")
    assert not (tmp_path / "escape.txt").exists()
    link = _zip_with(tmp_path, mlflow_dir, "link", b"/etc/passwd", stat.S_IFLNK | 0o777)
    fails(run_processor("mlflow", link, tmp_path / "b"), "symbolic link")
    bomb = _zip_with(tmp_path, mlflow_dir, "zeros.bin", b"\0" * (64 * 1024**2))
    fails(run_processor("mlflow", bomb, tmp_path / "c"), "zip bomb")
    fails(run_processor("mlflow", bomb, tmp_path / "d", BYOM_MAX_UNZIPPED_BYTES="1000000"), "over the limit")


def test_mlflow_processor_refuses_corrupt_or_foreign_archives(mlflow_dir, tmp_path):
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 definitely not a zip")
    fails(run_processor("mlflow", tmp_path / "junk.zip", tmp_path / "a"), "not a readable zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("model.pkl", b"\x80\x04.")
    (tmp_path / "no-mlmodel.zip").write_bytes(buffer.getvalue())
    fails(run_processor("mlflow", tmp_path / "no-mlmodel.zip", tmp_path / "b"), "no MLmodel")


def test_mlflow_processor_needs_a_column_signature_or_a_declared_schema(tmp_path):
    frame, label = mixed_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), label)
    mlflow.sklearn.save_model(model, str(tmp_path / "bare"))
    archive = zip_dir(tmp_path / "bare")
    fails(run_processor("mlflow", archive, tmp_path / "a"), "no signature")
    assert run_processor("mlflow", archive, tmp_path / "b", BYOM_INPUT_SCHEMA=SCHEMA).returncode == 0
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(model, str(tmp_path / "tensor"), signature=infer_signature(frame.to_numpy(), label))
    fails(run_processor("mlflow", zip_dir(tmp_path / "tensor"), tmp_path / "c"), "tensor-based")


def test_processors_refuse_a_non_empty_target(mlflow_dir, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old").write_text("x")
    fails(run_processor("mlflow", zip_dir(mlflow_dir), tmp_path / "out"), "not empty")


def test_pickle_processor_wraps_a_joblib_file_with_declared_framework_and_schema(tmp_path):
    frame, label = mixed_frame()
    joblib.dump(LogisticRegression(max_iter=500).fit(frame[["age", "income"]], label), tmp_path / "m.joblib")
    result = run_processor(
        "pickle", tmp_path / "m.joblib", tmp_path / "out", BYOM_FRAMEWORK="scikit-learn", BYOM_INPUT_SCHEMA=SCHEMA
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "byom-model.json").read_text())
    assert manifest["framework"] == "sklearn" and manifest["loader"] == "joblib"
    assert manifest["inputSchema"] == [{"name": "age", "type": "Int64"}, {"name": "income", "type": "Float64"}]
    assert manifest["outputSchema"] is None
    assert (tmp_path / "out" / manifest["modelPath"]).is_file()


def test_pickle_processor_refuses_missing_framework_schema_or_a_non_pickle(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"\x80\x04N.")
    fails(run_processor("pickle", tmp_path / "m.pkl", tmp_path / "a", BYOM_INPUT_SCHEMA=SCHEMA), "BYOM_FRAMEWORK")
    fails(run_processor("pickle", tmp_path / "m.pkl", tmp_path / "b", BYOM_FRAMEWORK="sklearn"), "BYOM_INPUT_SCHEMA")
    fails(
        run_processor("pickle", tmp_path / "m.pkl", tmp_path / "c", BYOM_FRAMEWORK="cobol", BYOM_INPUT_SCHEMA=SCHEMA),
        "cannot be served",
    )
    bad_schema = '[{"name": "a", "type": "decimal"}]'
    fails(run_processor("pickle", tmp_path / "m.pkl", tmp_path / "d", BYOM_FRAMEWORK="sklearn", BYOM_INPUT_SCHEMA=bad_schema), "decimal")
    (tmp_path / "m.txt").write_text("hello")
    fails(run_processor("pickle", tmp_path / "m.txt", tmp_path / "e", BYOM_FRAMEWORK="sklearn", BYOM_INPUT_SCHEMA=SCHEMA), "not a pickle")
