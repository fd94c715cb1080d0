"""Scorer benchmark: in-process predict vs Byom's runtime vs `mlflow models serve` vs MLServer.

Run by `npm run bench:scorer` (bench/scorer/run.ts), which prepares the venvs. Same models, same
machine, same closed-loop load generator (wrk), loopback only, bounded in time.
"""

from __future__ import annotations

import os

# Every contender (and the in-process baseline) runs with one OpenMP/BLAS thread per process, as
# Byom's workers do: with several server processes on two cores, library thread pools only
# oversubscribe the cores (XGBoost single-row calls slowed 10-50x here with the default).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import http.client
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
PYTHON_SOURCE = ROOT / "runtime-images" / "python"

COLUMNS: list[tuple[str, str]] = (
    [(f"int{i}", "int64") for i in range(6)]
    + [(f"small{i}", "int32") for i in range(2)]
    + [(f"num{i}", "float64") for i in range(6)]
    + [(f"f32_{i}", "float32") for i in range(3)]
    + [(f"flag{i}", "bool") for i in range(3)]
)


def training_data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for name, kind in COLUMNS:
        if kind.startswith("int"):
            data[name] = rng.integers(0, 100, rows).astype(kind)
        elif kind.startswith("float"):
            data[name] = rng.normal(size=rows).astype(kind)
        else:
            data[name] = rng.random(rows) < 0.3
    frame = pd.DataFrame(data)
    signal_ = frame.num0 + frame.num1 * frame.flag0 + frame.int0 / 50 - frame.f32_0 + frame.small0 / 100
    return frame, (signal_ > signal_.median()).astype("int64").to_numpy()


def build_models(work: Path) -> dict[str, Path]:
    import lightgbm
    import mlflow.lightgbm
    import mlflow.sklearn
    import mlflow.xgboost
    import xgboost
    from mlflow.models import infer_signature
    from sklearn.ensemble import GradientBoostingClassifier

    frame, label = training_data(5000, 0)
    models = {
        "sklearn-gbm": (GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0), mlflow.sklearn.save_model, {"serialization_format": "cloudpickle"}),
        "xgboost": (xgboost.XGBClassifier(n_estimators=100, max_depth=6), mlflow.xgboost.save_model, {}),
        "lightgbm": (lightgbm.LGBMClassifier(n_estimators=100, verbose=-1), mlflow.lightgbm.save_model, {}),
    }
    out = {}
    for name, (model, save, extra) in models.items():
        model.fit(frame, label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save(model, str(work / name), signature=infer_signature(frame, model.predict(frame)), input_example=frame.head(2), **extra)
        out[name] = work / name
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not ready at {path}")


@dataclass
class Server:
    name: str
    port: int
    path: str
    process: subprocess.Popen[bytes]
    body_for: Any

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def byom_body(frame: pd.DataFrame) -> bytes:
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in frame.itertuples(index=False, name=None)]
    return json.dumps({"fields": list(frame.columns), "rows": rows}).encode()


def mlflow_body(frame: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


def start_byom(python: str, model_dir: Path, work: Path, log: Path) -> Server:
    ready = work / "ready"
    subprocess.run(
        [python, "-m", "byom_mlflow_processor"],
        env={**os.environ, "PYTHONPATH": str(PYTHON_SOURCE), "SOURCE_PATH": str(model_dir), "TARGET_PATH": str(ready)},
        check=True,
    )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(PYTHON_SOURCE), "MODEL_PATH": str(ready), "MODEL_ID": "bench", "PORT": str(port), "BYOM_HOST": "127.0.0.1"}
    process = subprocess.Popen([python, "-m", "byom_scorer"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/readyz")
    return Server("byom", port, "/model/score", process, byom_body)


def start_mlflow(python: str, model_dir: Path, log: Path) -> Server:
    port = free_port()
    command = [python, "-m", "mlflow", "models", "serve", "-m", str(model_dir), "-h", "127.0.0.1", "-p", str(port), "-w", "2", "--env-manager", "local"]
    # mlflow execs `uvicorn` by name: its venv's bin must be on PATH.
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/ping")
    return Server("mlflow models serve", port, "/invocations", process, mlflow_body)


def start_mlserver(python: str, model_dir: Path, work: Path, log: Path) -> Server:
    port, grpc = free_port(), free_port()
    folder = work / "mlserver"
    (folder / "model").mkdir(parents=True)
    (folder / "settings.json").write_text(
        json.dumps({"http_port": port, "grpc_port": grpc, "host": "127.0.0.1", "parallel_workers": 2, "metrics_endpoint": None})
    )
    (folder / "model" / "model-settings.json").write_text(
        json.dumps({"name": "model", "implementation": "mlserver_mlflow.MLflowRuntime", "parameters": {"uri": str(model_dir)}})
    )
    mlserver = str(Path(python).parent / "mlserver")
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen([mlserver, "start", str(folder)], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/v2/models/model/ready")
    return Server("MLServer", port, "/invocations", process, mlflow_body)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


@dataclass
class Load:
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(server: Server, body: bytes, concurrency: int, seconds: int, work: Path) -> Load:
    body_file = work / f"body-{server.port}.json"
    body_file.write_bytes(body)
    script = work / f"post-{server.port}.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
        "function response(status, headers, body)\n  if status ~= 200 then errors_seen = (errors_seen or 0) + 1 end\nend\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{server.port}{server.path}"],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)[0]) if "Socket errors" in out else 0
    return Load(concurrency, rps, p50, p99, errors)


def post_once(server: Server, body: bytes) -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    start = time.perf_counter()
    connection.request("POST", server.path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, response.status


def paired_batch_time(server: Server, body: bytes, predict: Any, frame: pd.DataFrame, repeats: int) -> tuple[float, float, float, int]:
    """The 10k-row POST and the in-process predict of the same rows, alternated round by round so
    both see the machine in the same state (a shared machine drifts by tens of percent within a
    minute). Returns (median POST ms, median predict ms, median of the per-round ratios, status)."""
    post_once(server, body)  # warm-up: first-touch allocations, caches
    posts, predicts, ratios = [], [], []
    status = 0
    for _ in range(repeats):
        start = time.perf_counter()
        predict(frame)
        predicted = time.perf_counter() - start
        posted, status = post_once(server, body)
        posts.append(posted)
        predicts.append(predicted)
        ratios.append(posted / predicted)
    print("   rounds (predict ms, post ms):", [(round(a * 1000, 1), round(b * 1000, 1)) for a, b in zip(predicts, posts)], flush=True)
    return statistics.median(posts) * 1000, statistics.median(predicts) * 1000, statistics.median(ratios), status


@dataclass
class Result:
    model: str
    server: str
    loads: list[Load] = field(default_factory=list)
    batch_ms: float = float("nan")
    batch_in_process_ms: float = float("nan")
    batch_ratio: float = float("nan")
    batch_status: int = 0

    @property
    def peak(self) -> Load:
        return max(self.loads, key=lambda load: load.rps)


def in_process(model: Any, single: pd.DataFrame, batch: pd.DataFrame, repeats: int) -> tuple[float, float, float]:
    """pyfunc predict, as a user calls it in-process: single-row calls/s, p99 of those, 10k-row ms."""
    model.predict(single)
    latencies = []
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        model.predict(single)
        latencies.append(time.perf_counter() - start)
    batch_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(batch)
        batch_times.append(time.perf_counter() - start)
    return len(latencies) / sum(latencies), float(np.percentile(latencies, 99)) * 1000, statistics.median(batch_times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlflow-python", required=True)
    parser.add_argument("--mlserver-python", required=True)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--models", default="sklearn-gbm,xgboost,lightgbm")
    parser.add_argument("--servers", default="byom,mlflow,mlserver")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="byom-bench-"))
    log = work / "servers.log"
    print(f"work folder {work} (server logs in servers.log)", flush=True)
    models = build_models(work)
    single_frame, _ = training_data(1, 42)
    batch_frame, _ = training_data(10_000, 43)
    results: list[Result] = []
    baselines: dict[str, tuple[float, float, float]] = {}
    pyfunc_models: dict[str, Any] = {}
    for model_name in args.models.split(","):
        model_dir = models[model_name]
        import mlflow.pyfunc

        pyfunc_models[model_name] = mlflow.pyfunc.load_model(str(model_dir))
        baselines[model_name] = in_process(pyfunc_models[model_name], single_frame, batch_frame, args.repeats)
        print(f"{model_name}: in-process {baselines[model_name][0]:.0f} calls/s, 10k rows {baselines[model_name][2]:.1f} ms", flush=True)
        for server_name in args.servers.split(","):
            server_work = work / "runs" / model_name / server_name.replace(" ", "-")
            server_work.mkdir(parents=True)
            if server_name == "byom":
                server = start_byom(sys.executable, model_dir, server_work, log)
            elif server_name == "mlflow":
                server = start_mlflow(args.mlflow_python, model_dir, log)
            else:
                server = start_mlserver(args.mlserver_python, model_dir, server_work, log)
            try:
                result = Result(model_name, server.name)
                one = server.body_for(single_frame)
                wrk(server, one, 4, 1, server_work)  # warm-up
                for concurrency in concurrencies:
                    load = wrk(server, one, concurrency, args.seconds, server_work)
                    result.loads.append(load)
                    print(f"  {server.name:<20} c={concurrency:<3} {load.rps:8.0f} req/s  p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms  errors {load.errors}", flush=True)
                result.batch_ms, result.batch_in_process_ms, result.batch_ratio, result.batch_status = paired_batch_time(
                    server, server.body_for(batch_frame), pyfunc_models[model_name].predict, batch_frame, args.repeats
                )
                print(
                    f"  {server.name:<20} 10k rows {result.batch_ms:8.1f} ms (HTTP {result.batch_status}); "
                    f"in-process alongside {result.batch_in_process_ms:.1f} ms; paired ratio {result.batch_ratio:.2f}",
                    flush=True,
                )
                results.append(result)
            finally:
                server.stop()
    Path(args.out).write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadStart": load_start, "loadEnd": os.getloadavg()[0]},
        "seconds": args.seconds,
        "concurrency": concurrencies,
        "baselines": {k: {"callsPerSecond": v[0], "p99Ms": v[1], "batch10kMs": v[2]} for k, v in baselines.items()},
        "results": [
            {"model": r.model, "server": r.server, "batch10kMs": r.batch_ms, "batchStatus": r.batch_status,
             "batchInProcessMs": r.batch_in_process_ms, "batchRatio": r.batch_ratio,
             "loads": [vars(load) for load in r.loads]}
            for r in results
        ],
    }, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
