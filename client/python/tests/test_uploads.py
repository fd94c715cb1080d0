"""Uploads: one PUT, multipart in parallel, resumed after an interruption, ingestion failures.
The platform runs with a 2 MiB multipart threshold and 1 MiB parts."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import byom

MiB = 1024 * 1024


def random_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_an_mlflow_zip_goes_up_in_one_put_and_ingestion_finds_its_schema(project: byom.Project, models: dict) -> None:
    experiment = project.upload(models["v1"], name="one-put", metadata={"team": "risk"})
    [artifact] = experiment.artifacts()
    assert artifact["status"] == "READY"
    assert artifact["model"]["framework"] == "sklearn"
    assert [c.name for c in experiment.input_schema] == ["age", "income", "tenure"]
    assert experiment.metadata["team"] == "risk"


def test_a_large_file_goes_up_in_parallel_parts(project: byom.Project, tmp_path: Path) -> None:
    file = tmp_path / "big-model.pkl"
    sha256 = random_file(file, 5 * MiB + 12345)
    experiment = project.upload(file, framework="sklearn", parallel=3)
    assert experiment.name == "big-model"
    [artifact] = experiment.artifacts()
    assert artifact["status"] == "READY"
    assert artifact["sha256"] == sha256
    assert artifact["sizeBytes"] == 5 * MiB + 12345


def test_an_interrupted_upload_resumes_with_only_the_missing_parts(
    project: byom.Project, client: byom.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "resumed.pkl"
    sha256 = random_file(file, 4 * MiB + 1)
    monkeypatch.setenv("BYOM_SDK_STOP_AFTER_PARTS", "2")
    with pytest.raises(byom.UploadInterrupted, match="after 2 of 5 parts"):
        project.upload(file, framework="sklearn", parallel=1)
    monkeypatch.delenv("BYOM_SDK_STOP_AFTER_PARTS")
    [state_file] = (client.config.home / "uploads").glob("sdk-*.json")
    state = json.loads(state_file.read_text())
    assert len(state["done"]) == 2
    # The saved URLs stop working (as they do an hour later): resuming must ask for fresh ones.
    for part in state["plan"]["multipart"]["parts"]:
        part["url"] = "http://127.0.0.1:9/expired"
    state_file.write_text(json.dumps(state))

    experiment = project.upload(file, framework="sklearn", parallel=2)
    [artifact] = experiment.artifacts()
    assert (artifact["status"], artifact["sha256"]) == ("READY", sha256)
    assert not state_file.exists()
    assert [e.name for e in project.experiments.list()].count("resumed") == 1


def test_a_file_ingestion_rejects_raises_with_the_reason(project: byom.Project, tmp_path: Path) -> None:
    file = tmp_path / "not-a-model.zip"
    random_file(file, 2048)
    with pytest.raises(byom.IngestionFailed) as caught:
        project.upload(file)
    assert caught.value.artifact["status"] == "FAILED"
    assert caught.value.artifact["failureReason"]


def test_bad_input_is_refused_before_anything_is_created(project: byom.Project, tmp_path: Path) -> None:
    with pytest.raises(byom.ByomError, match="does not exist"):
        project.upload(tmp_path / "nope.zip")
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"x")
    with pytest.raises(byom.ByomError, match="artifact type"):
        project.upload(unknown)
    pickle = tmp_path / "model.pkl"
    pickle.write_bytes(b"x" * 10)
    with pytest.raises(byom.ApiError) as caught:
        project.upload(pickle)  # a pickle needs framework=
    assert caught.value.status == 400
    assert project.experiments.list() == []
