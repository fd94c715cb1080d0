"""Sends a file's bytes straight to S3 through the presigned URLs the registry hands out (they never
pass through the API): one PUT for small files, or the parts of a multipart upload in parallel
threads. A multipart upload is resumable: the ETag of every finished part is written to a state file
under `<BYOM_HOME>/uploads/` as soon as S3 answers (presigned clients cannot ask S3 for ListParts),
and running the same upload again sends only the missing parts, with fresh URLs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx

from byom.errors import UploadFailed

MAX_ATTEMPTS = 4
CHUNK = 1024 * 1024

Progress = Callable[[int], None]


class UploadInterrupted(UploadFailed):
    """Stopped on purpose after some parts (BYOM_SDK_STOP_AFTER_PARTS): run the upload again to resume."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class StateStore:
    """`<home>/uploads/<hash>.json`, one per (API, project, target, file identity)."""

    def __init__(self, home: Path, identity: list[Any]) -> None:
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:24]
        self.path = home / "uploads" / f"sdk-{digest}.json"
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return state if state.get("version") == 1 else None

    def save(self, state: dict[str, Any]) -> None:
        """Atomic (write, then rename), so a kill mid-write never leaves a torn file."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temp.write_text(json.dumps(state, indent=2))
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def put_single(http: httpx.Client, path: Path, size: int, plan: dict[str, Any], progress: Progress) -> None:
    _with_retries(f"upload of {path.name}", progress, lambda counted: _put_range(http, plan["url"], path, 0, size, plan.get("headers") or {}, counted))


def put_multipart(
    http: httpx.Client,
    path: Path,
    size: int,
    plan: dict[str, Any],
    done: list[dict[str, Any]],
    on_part_done: Callable[[dict[str, Any]], None],
    progress: Progress,
    parallel: int,
    stop_after_parts: int | None = None,
) -> list[dict[str, Any]]:
    """Uploads the parts not in `done`, `parallel` at a time; returns every part's ETag in order."""
    part_size = plan["multipart"]["partSizeBytes"]
    parts = plan["multipart"]["parts"]
    expected = max(1, -(-size // part_size))
    if len(parts) != expected:
        raise UploadFailed(
            f"The server planned {len(parts)} parts of {part_size} bytes for a {size}-byte file (expected {expected}). "
            "Was the file changed after the upload started?"
        )
    finished = {p["partNumber"]: p["etag"] for p in done}
    todo = [p for p in parts if p["partNumber"] not in finished]
    lock = threading.Lock()
    stop = threading.Event()
    count = 0

    def send(part: dict[str, Any]) -> None:
        nonlocal count
        if stop.is_set():
            return
        start = (part["partNumber"] - 1) * part_size
        length = min(part_size, size - start)
        etag = _with_retries(
            f"part {part['partNumber']} of {path.name}", progress, lambda counted: _put_range(http, part["url"], path, start, length, {}, counted)
        )
        with lock:
            finished[part["partNumber"]] = etag
            on_part_done({"partNumber": part["partNumber"], "etag": etag})
            count += 1
            if stop_after_parts is not None and count >= stop_after_parts:
                stop.set()

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(todo) or 1)), thread_name_prefix="byom-upload") as pool:
        futures = [pool.submit(send, part) for part in todo]
        completed, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in completed:
            if future.exception():
                stop.set()
                raise future.exception()  # type: ignore[misc]
    if len(finished) < len(parts):
        raise UploadInterrupted(
            f"Upload stopped after {len(finished)} of {len(parts)} parts (BYOM_SDK_STOP_AFTER_PARTS). Run the same upload again to resume it."
        )
    return [{"partNumber": p["partNumber"], "etag": finished[p["partNumber"]]} for p in parts]


class _S3Rejected(UploadFailed):
    def __init__(self, status: int, body: str) -> None:
        code = re.search(r"<Code>([^<]+)</Code>", body)
        message = re.search(r"<Message>([^<]+)</Message>", body)
        expired = status == 403 or (code and code.group(1) in ("AccessDenied", "SignatureDoesNotMatch", "ExpiredToken"))
        super().__init__(
            f"S3 answered {status}{' ' + code.group(1) if code else ''}{': ' + message.group(1) if message else ''}."
            + (" The presigned URL may have expired: run the same upload again to resume with fresh URLs." if expired else "")
        )
        self.status = status


def _with_retries(what: str, progress: Progress, attempt: Callable[[Progress], str]) -> str:
    """Retries transient failures (network errors, 5xx, 429) with backoff, undoing their progress."""
    for n in range(1, MAX_ATTEMPTS + 1):
        sent = 0

        def counted(delta: int) -> None:
            nonlocal sent
            sent += delta
            progress(delta)

        try:
            return attempt(counted)
        except (httpx.HTTPError, _S3Rejected, OSError) as error:
            progress(-sent)
            transient = not isinstance(error, _S3Rejected) or error.status >= 500 or error.status == 429
            if not transient or n == MAX_ATTEMPTS:
                if isinstance(error, UploadFailed):
                    raise
                raise UploadFailed(f"The {what} failed after {n} attempts: {error}. Run the same upload again to resume.") from error
            time.sleep(0.25 * 2**n)
    raise AssertionError("unreachable")


def _put_range(http: httpx.Client, url: str, path: Path, start: int, length: int, headers: dict[str, str], progress: Progress) -> str:
    """PUTs `length` bytes of `path` from `start`, streamed; returns the ETag."""

    def body() -> Iterator[bytes]:
        with path.open("rb") as handle:
            handle.seek(start)
            left = length
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    raise UploadFailed(f"{path} became shorter while it was being uploaded.")
                left -= len(chunk)
                progress(len(chunk))
                yield chunk

    response = http.put(url, content=body(), headers={**headers, "Content-Length": str(length)}, timeout=httpx.Timeout(300.0, connect=30.0))
    if not 200 <= response.status_code < 300:
        raise _S3Rejected(response.status_code, response.text[:4096])
    etag = response.headers.get("etag")
    if not etag:
        raise UploadFailed("S3 accepted a part but sent no ETag header.")
    return etag
