"""Runs processors and runtimes as real processes and talks to them over real HTTP."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE_ROOT = Path(__file__).resolve().parents[1]


def python_for(role: str) -> str:
    """Interpreters of the images' own venvs (npm run test:py sets them); this one otherwise."""
    return os.environ.get(f"BYOM_{role.upper()}_PYTHON") or sys.executable


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOM_") or k.endswith("_PYTHON")}
    env.update(PYTHONPATH=str(SOURCE_ROOT), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_processor(kind: str, source: Path, target: Path, **env: str) -> subprocess.CompletedProcess[str]:
    module = {"mlflow": "byom_mlflow_processor", "pickle": "byom_pickle_processor"}[kind]
    return subprocess.run(
        [python_for(f"{kind}_processor"), "-m", module],
        env=_env({"SOURCE_PATH": str(source), "TARGET_PATH": str(target), **env}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def process_ok(kind: str, source: Path, target: Path, **env: str) -> Path:
    result = run_processor(kind, source, target, **env)
    assert result.returncode == 0, result.stderr
    return target


def zip_dir(directory: Path) -> Path:
    return Path(shutil.make_archive(str(directory), "zip", directory))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


class Runtime:
    """A runtime process serving `ready_dir`; a context manager that stops it."""

    def __init__(
        self, ready_dir: Path, model_id: str = "test-model", workers: int = 1, stdout: Path | None = None, **env: str
    ) -> None:
        """`stdout`: a file that receives the runtime's standard output (inherited otherwise)."""
        self.port = free_port()
        self.model_id = model_id
        self.first_status: int | None = None
        out = None if stdout is None else stdout.open("ab")
        self.process = subprocess.Popen(
            [python_for("runtime"), "-m", "byom_scorer"],
            env=_env(
                {
                    "MODEL_PATH": str(ready_dir),
                    "MODEL_ID": model_id,
                    "PORT": str(self.port),
                    "BYOM_HOST": "127.0.0.1",
                    "BYOM_WORKERS": str(workers),
                    **env,
                }
            ),
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        if out is not None:
            out.close()  # the runtime has its own copy

    def __enter__(self) -> Runtime:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited {self.process.returncode}: {self.process.stderr.read()}")
            try:
                status = self.request("GET", "/readyz").status
            except OSError:
                time.sleep(0.05)
                continue
            if self.first_status is None:
                self.first_status = status
            if status == 200:
                return
            time.sleep(0.05)
        raise AssertionError("runtime not ready in time")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.read(), response.getheader("Content-Type") or "")
        finally:
            connection.close()

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def score(self, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return self.request(
            "POST", "/model/score", json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )


def as_text(value: Any) -> str:
    """How the scorer writes one predicted value."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, np.floating):
        return str(value) if value.dtype == np.float32 else repr(float(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def expected_rows(predictions: Any) -> list[list[str]]:
    import numpy as np

    if hasattr(predictions, "detach"):
        predictions = predictions.detach().numpy()
    if hasattr(predictions, "iloc") and hasattr(predictions, "columns"):
        predictions = predictions.to_numpy()
    array = np.asarray(predictions)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    array = array.reshape(array.shape[0], -1)
    return [[as_text(array[r, c]) for c in range(array.shape[1])] for r in range(array.shape[0])]


def frame_request(frame: Any) -> dict[str, Any]:
    """A score request with typed JSON values from a DataFrame."""
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return {"fields": [str(c) for c in frame.columns], "rows": rows}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
