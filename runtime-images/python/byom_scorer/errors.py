"""Errors a request can cause; turned into HTTP answers in one place (app.handle)."""

from __future__ import annotations


class RequestError(Exception):
    """Answered as `{"detail": message}` (`{"error": message}` under /v2) with `status`; the
    message says what to fix."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def bad_request(message: str) -> RequestError:
    return RequestError(400, message)
