"""Errors a request can cause; turned into HTTP answers in one place (app.handle)."""

from __future__ import annotations


class RequestError(Exception):
    """Answered as `{"detail": message}` with `status`; the message says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> RequestError:
    return RequestError(400, message)
