"""Whole JSON lines on the runtime's stdout, which the platform keeps (CloudWatch Logs on AWS, the
data folder in local mode): shadow records and embedded-metric-format metrics."""

from __future__ import annotations

import fcntl
import os

import orjson


def write_record(record: dict[str, object], fd: int = 1) -> None:
    line = orjson.dumps(record) + b"\n"
    # Workers share stdout: a record over the pipe's atomic size must not interleave with
    # another worker's. POSIX locks belong to the process, so forked siblings exclude each other.
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        locked = True
    except OSError:
        locked = False
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        pass  # stdout gone: the records are lost, scoring goes on
    finally:
        if locked:
            fcntl.lockf(fd, fcntl.LOCK_UN)
