"""What the SDK raises. Every exception is a ByomError; the API's own refusals are ApiError with the
code, message and details of its error shape (`{"error": {"code", "message", "details"}}`)."""

from __future__ import annotations

from typing import Any


class ByomError(Exception):
    """Base of every exception the SDK raises on purpose."""


class ConfigError(ByomError):
    """No API is configured, or the configuration is unusable: the message says what to set."""


class ApiError(ByomError):
    """The registry API (or a scorer) answered with an error.

    `status` is the HTTP status, `code` the API's stable code (VALIDATION_FAILED, NOT_FOUND,
    CONFLICT …), `message` what was wrong and how to fix it, `details` the API's details list.
    """

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details or [])

    def __str__(self) -> str:
        return f"{self.code} (HTTP {self.status}): {self.message}"


class ConnectionFailed(ByomError):
    """The API or an endpoint could not be reached at all."""


class UploadFailed(ByomError):
    """Sending a file's bytes to storage failed; running the same upload again resumes it."""


class IngestionFailed(ByomError):
    """The upload arrived but ingestion rejected it (corrupt zip, no MLmodel …)."""

    def __init__(self, message: str, artifact: dict[str, Any]) -> None:
        super().__init__(message)
        self.artifact = artifact


class DeploymentFailed(ByomError):
    """A deployment (or a new revision of it) ended FAILED or UNHEALTHY instead of serving."""

    def __init__(self, message: str, deployment: dict[str, Any]) -> None:
        super().__init__(message)
        self.deployment = deployment


class JobFailed(ByomError):
    """A registry job (a deletion, a multipart completion, an MLflow import) ended FAILED.

    `code` and `message` are the job's error (VALIDATION_FAILED for a part list S3 refused,
    JOB_FAILED or JOB_STALLED when the worker gave up); `job` is the job's JSON.
    """

    def __init__(self, message: str, code: str, job: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.job = job


class WaitTimeout(ByomError):
    """A wait ran out of time; what it waited for may still finish later."""
