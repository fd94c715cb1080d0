"""Jobs: deletions and multipart completion run as registry jobs (202 + jobId); the SDK waits for
them with progress, or hands back a Job to wait for later. The platform runs with a 2 MiB
multipart threshold and 1 MiB parts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import byom
from byom.jobs import Job

MiB = 1024 * 1024


def pickle_file(path: Path, size: int = 4096) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_deleting_a_project_without_blocking_hands_back_a_job_to_wait_for(client: byom.Client, project: byom.Project, tmp_path: Path) -> None:
    project.upload(pickle_file(tmp_path / "a.pkl"), framework="sklearn")
    project.upload(pickle_file(tmp_path / "b.pkl"), framework="sklearn")
    job = project.delete(wait=False)
    assert isinstance(job, byom.Job)
    assert job.id.startswith("job-")
    assert job.status in ("QUEUED", "RUNNING", "SUCCEEDED")
    # Found again from its ids alone, even once it has deleted the project.
    again = client.job(project.id, job.id).wait(timeout=300)
    assert again.status == "SUCCEEDED"
    assert again.kind == "delete-project"
    assert again.result["artifactsRemoved"] == 2
    assert "2 artifact(s)" in again.progress["message"]
    with pytest.raises(byom.ApiError) as gone:
        client.project(project.id)
    assert gone.value.status in (403, 404)


def test_deleting_an_experiment_waits_for_its_job_showing_progress(project: byom.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experiment = project.upload(pickle_file(tmp_path / "gone.pkl"), framework="sklearn")
    job = experiment.delete(progress=True)
    assert (job.status, job.kind) == ("SUCCEEDED", "delete-experiment")
    assert job.result == {"experimentId": experiment.id, "artifactsRemoved": 1}
    shown = capsys.readouterr().err
    assert "deleting experiment gone" in shown
    assert "succeeded: 1 artifact(s) removed" in shown
    assert project.experiments.list() == []


def test_a_registered_experiment_is_refused_at_once_without_a_job(project: byom.Project, tmp_path: Path) -> None:
    experiment = project.upload(pickle_file(tmp_path / "kept.pkl"), framework="sklearn")
    version = experiment.register("kept")
    with pytest.raises(byom.ApiError) as refused:
        experiment.delete()
    assert (refused.value.status, refused.value.code) == (409, "CONFLICT")
    assert "cannot be deleted" in refused.value.message
    assert refused.value.details[0]["version"] == version.number
    assert experiment.refresh().registered_as == {"modelId": version.model.id, "version": version.number}


def test_multipart_completion_is_a_job_the_upload_waits_for_and_resumes_waiting_for(
    project: byom.Project, client: byom.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = pickle_file(tmp_path / "assembled.pkl", 3 * MiB + 7)
    waited: list[str] = []
    real_wait = Job.wait

    def interrupted(self: Job, *args: object, **kwargs: object) -> Job:
        # The process dies while S3 assembles the parts (what a notebook restart does).
        waited.append(self.id)
        raise byom.WaitTimeout("interrupted while the completion job ran")

    monkeypatch.setattr(Job, "wait", interrupted)
    with pytest.raises(byom.WaitTimeout):
        project.upload(file, framework="sklearn")
    [state_file] = (client.config.home / "uploads").glob("sdk-*.json")
    state = json.loads(state_file.read_text())
    assert state["completionJobId"] == waited[0]
    assert len(state["done"]) == 4

    def recorded(self: Job, *args: object, **kwargs: object) -> Job:
        waited.append(self.id)
        return real_wait(self, *args, **kwargs)

    monkeypatch.setattr(Job, "wait", recorded)
    capsys.readouterr()
    experiment = project.upload(file, framework="sklearn", progress=True)
    # Run again, it waited for the same job instead of completing the upload a second time.
    assert waited == [state["completionJobId"], state["completionJobId"]]
    assert "assembling 4 parts of assembled.pkl" in capsys.readouterr().err
    [artifact] = experiment.artifacts()
    assert (artifact["status"], artifact["sizeBytes"]) == ("READY", 3 * MiB + 7)
    job = project.job(state["completionJobId"])
    assert (job.kind, job.status, job.result["artifactId"]) == ("complete-upload", "SUCCEEDED", artifact["artifactId"])
    assert not state_file.exists()
