"""Jobs: registry work that runs off the request path (docs/ingestion.md, "Jobs").

Deleting a project or an experiment, completing a multipart upload and importing from an MLflow
registry answer `202` with `{jobId, status, location}`; `GET /v1/projects/{p}/jobs/{jobId}` shows the job's status (QUEUED,
RUNNING, SUCCEEDED, FAILED), `progress` ({done, total, message}), `result` and `error`. The SDK's
methods that start one wait for it by default; `wait=False` hands back the `Job` instead, to
`refresh()` or `wait()` later (`project.job(job_id)` finds one again from its id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from byom.errors import JobFailed
from byom.progress import Progress
from byom.waiting import wait_until

if TYPE_CHECKING:
    from byom import _api
    from byom.client import Client

TERMINAL = ("SUCCEEDED", "FAILED")


class Job:
    """A registry job. `data` is the API's Job JSON (only jobId, status and location until the
    first `refresh()` when it came from a 202 answer)."""

    data: dict[str, Any]

    def __init__(self, client: Client, project_id: str, data: _api.Job | _api.JobAccepted | dict[str, Any]) -> None:
        self.client = client
        self.project_id = project_id
        self.data = dict(data)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind or ''} {self.status}>".replace("  ", " ")

    @property
    def id(self) -> str:
        return self.data["jobId"]

    @property
    def kind(self) -> str | None:
        """delete-project, delete-experiment, complete-upload or import-mlflow (None before the first refresh)."""
        return self.data.get("kind")

    @property
    def status(self) -> str:
        return self.data["status"]

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def progress(self) -> _api.JobProgress | None:
        return self.data.get("progress")

    @property
    def result(self) -> Any:
        """What the job produced once SUCCEEDED (the artifact of a completed upload, the counts of
        a deletion, {experiment, artifact} of an MLflow import); None before."""
        return self.data.get("result")

    @property
    def error(self) -> _api.JobError | None:
        return self.data.get("error")

    def refresh(self) -> Job:
        self.data = dict(self.client.call("getJob", {"projectId": self.project_id, "jobId": self.id}))
        return self

    def wait(self, timeout: float = 1800, progress: bool | None = None, description: str | None = None) -> Job:
        """Polls until the job ends, showing its progress (a bar in notebooks and terminals).

        Returns the SUCCEEDED job; raises JobFailed (code and message of the job's error) when it
        FAILED, and WaitTimeout after `timeout` seconds (the job goes on: wait again later).
        """
        show = self.client.progress if progress is None else progress
        bar: Progress | None = None
        shown = ""

        def on_poll(data: dict[str, Any]) -> None:
            nonlocal bar, shown
            self.data = data
            step = data.get("progress") or {}
            if bar is None:
                bar = Progress(step.get("total"), description or f"{data.get('kind', 'job')} {self.id}", show, unit="item")
            line = f"{data['status'].lower()}: {step.get('message', '')}"
            if line != shown:
                shown = line
                bar.set(step.get("done", 0), step.get("total"))
                bar.note(line)

        def fetch() -> dict[str, Any]:
            return dict(self.client.call("getJob", {"projectId": self.project_id, "jobId": self.id}))

        try:
            wait_until(
                fetch,
                lambda d: d["status"] in TERMINAL,
                timeout,
                lambda d: f"Job {self.id} ({d.get('kind', 'job')}) is still {d['status']} ({(d.get('progress') or {}).get('message', '')})",
                on_poll,
            )
        finally:
            if bar is not None:
                bar.close()
        if self.status == "FAILED":
            error = self.error or {}
            raise JobFailed(
                f"Job {self.id} ({self.kind}) failed: {error.get('message') or 'no reason given'}",
                error.get("code") or "JOB_FAILED",
                dict(self.data),
            )
        return self
