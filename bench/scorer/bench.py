"""Scorer benchmark: in-process predict vs Byom's runtime vs `mlflow models serve` vs MLServer.

Run by `npm run bench:scorer` (bench/scorer/run.ts), which prepares the venvs. Like with like:
every server runs ONE worker process pinned to the same core (taskset -c 1) as the in-process
baseline's predict calls, while wrk and this script's client run on the other core (taskset -c
0); the servers' runs are interleaved round by round (a shared machine drifts within minutes);
every wrk run's raw output is kept, and a non-2xx answer or a socket error fails the benchmark.
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
import contextlib
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


SERVER_CORE, CLIENT_CORE = (1, 0) if (os.cpu_count() or 1) >= 2 else (0, 0)


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


@contextlib.contextmanager
def on_core(core: int):
    """Runs this process's block on one core (the in-process baseline on the servers' core)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@dataclass
class Server:
    name: str
    port: int
    path: str
    process: subprocess.Popen[bytes]
    body_for: Any
    v2_path: str | None = None

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of `pid` and of its living descendants (a capture writer process,
    mlflow's gunicorn workers), to the nanosecond (/proc/<pid>/task/<tid>/schedstat): robust to the
    shared machine's load, unlike req/s."""

    def own(p: int) -> float:
        total = 0
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        except OSError:
            pass
        return total / 1e9

    def children(p: int) -> list[int]:
        found: list[int] = []
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
        return found

    below, queue = 0.0, children(pid)
    while queue:
        child = queue.pop()
        below += own(child)
        queue += children(child)
    return own(pid), below


def byom_body(frame: pd.DataFrame) -> bytes:
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in frame.itertuples(index=False, name=None)]
    return json.dumps({"fields": list(frame.columns), "rows": rows}).encode()


def mlflow_body(frame: pd.DataFrame) -> bytes:
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


_V2_TYPES = {"int64": "INT64", "int32": "INT32", "float64": "FP64", "float32": "FP32", "bool": "BOOL"}


def v2_body(frame: pd.DataFrame) -> bytes:
    """One V2 request both Byom and MLServer take (MLServer reads content_type; Byom ignores it)."""
    inputs = [
        {"name": name, "datatype": _V2_TYPES[str(frame[name].dtype)], "shape": [len(frame)], "data": frame[name].tolist()}
        for name in frame.columns
    ]
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs}).encode()


def columnar_body(frame: pd.DataFrame, kind: str) -> bytes:
    import io

    import pyarrow as pa

    if kind == "text/csv":
        return frame.to_csv(index=False).encode()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def process_ready(python: str, model_dir: Path, ready: Path, source: Path) -> Path:
    if not (ready / "byom-model.json").exists():
        subprocess.run(
            [python, "-m", "byom_mlflow_processor"],
            env={**os.environ, "PYTHONPATH": str(source), "SOURCE_PATH": str(model_dir), "TARGET_PATH": str(ready)},
            check=True,
        )
    return ready


def start_byom(name: str, python: str, source: Path, ready: Path, log: Path, **extra: str) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(source), "MODEL_PATH": str(ready), "MODEL_ID": "bench", "PORT": str(port),
           "BYOM_HOST": "127.0.0.1", "BYOM_WORKERS": "1", **extra}
    process = subprocess.Popen([*pinned(SERVER_CORE), python, "-m", "byom_scorer"], env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/readyz")
    return Server(name, port, "/model/score", process, byom_body, "/v2/models/bench/infer")


def start_mlflow(python: str, model_dir: Path, log: Path) -> Server:
    port = free_port()
    command = [*pinned(SERVER_CORE), python, "-m", "mlflow", "models", "serve", "-m", str(model_dir), "-h", "127.0.0.1",
               "-p", str(port), "-w", "1", "--env-manager", "local"]
    # mlflow execs `uvicorn` by name: its venv's bin must be on PATH.
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/ping")
    return Server("mlflow models serve", port, "/invocations", process, mlflow_body)


def start_mlserver(python: str, model_dir: Path, work: Path, log: Path) -> Server:
    port, grpc = free_port(), free_port()
    folder = work / "mlserver"
    (folder / "model").mkdir(parents=True, exist_ok=True)
    # parallel_workers 0: inference in the server process itself, one process as for the others.
    (folder / "settings.json").write_text(
        json.dumps({"http_port": port, "grpc_port": grpc, "host": "127.0.0.1", "parallel_workers": 0, "metrics_endpoint": None})
    )
    (folder / "model" / "model-settings.json").write_text(
        json.dumps({"name": "model", "implementation": "mlserver_mlflow.MLflowRuntime", "parameters": {"uri": str(model_dir)}})
    )
    mlserver = str(Path(python).parent / "mlserver")
    env = {**os.environ, "PATH": f"{Path(python).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen([*pinned(SERVER_CORE), mlserver, "start", str(folder)], env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(port, "/v2/models/model/ready")
    return Server("MLServer", port, "/invocations", process, mlflow_body, "/v2/models/model/infer")


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
    requests: int
    non_2xx: int
    socket_errors: int


FAILURES: list[str] = []


def wrk(server: Server, path: str, body: bytes, concurrency: int, seconds: int, work: Path, raw: Path, label: str) -> Load:
    body_file = work / f"body-{server.port}-{len(body)}.json"
    body_file.write_bytes(body)
    script = work / f"post-{server.port}-{len(body)}.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
    )
    command = [*pinned(CLIENT_CORE), "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{server.port}{path}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    with raw.open("a") as keep:
        keep.write(f"### {label} c={concurrency} {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}\n$ {' '.join(command)}\n{out}\n")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    load = Load(concurrency, rps, p50, p99, requests, int(bad.group(1)) if bad else 0,
                sum(int(n) for n in sockets.groups()) if sockets else 0)
    if load.non_2xx or load.socket_errors:
        FAILURES.append(f"{label} c={concurrency}: {load.non_2xx} non-2xx, {load.socket_errors} socket errors")
    return load


def closed_loop(port: int, path: str, body: bytes, seconds: float, quickack: bool = False) -> dict[str, float]:
    """One keep-alive connection, one request at a time, every latency kept: a check on wrk's
    percentiles. With `quickack`, the client ACKs at once (TCP_QUICKACK) instead of delaying it."""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with on_core(CLIENT_CORE), socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = conn.makefile("rb")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and len(latencies) < 200_000:
            start = time.perf_counter()
            conn.sendall(request)
            if quickack:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            status = int(reader.readline().split()[1])
            length = 0
            chunked = False
            while True:
                line = reader.readline()
                if quickack:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                if line in (b"\r\n", b""):
                    break
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value)
                if key.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int(reader.readline().strip(), 16)
                    reader.read(size + 2)
                    if size == 0:
                        break
            else:
                reader.read(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    if set(statuses) != {200}:
        FAILURES.append(f"closed loop on {port}{path}: statuses {statuses}")
    values = np.array(latencies) * 1000
    return {"requests": len(values), "rps": len(values) / values.sum() * 1000, "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)), "max_ms": float(values.max())}


def post_once(port: int, path: str, body: bytes, content_type: str = "application/json") -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    connection.request("POST", path, body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, response.status


def paired(port: int, path: str, body: bytes, content_type: str, predict: Any, frame: pd.DataFrame, repeats: int) -> dict[str, float]:
    """The 10k-row POST and the in-process predict of the same rows (on the servers' core),
    alternated round by round so both see the machine in the same state."""
    post_once(port, path, body, content_type)  # warm-up
    posts, predicts, ratios = [], [], []
    status = 0
    for _ in range(repeats):
        with on_core(SERVER_CORE):
            start = time.perf_counter()
            predict(frame)
            predicted = time.perf_counter() - start
        with on_core(CLIENT_CORE):
            posted, status = post_once(port, path, body, content_type)
        if status != 200:
            FAILURES.append(f"10k POST to {port}{path} ({content_type}): HTTP {status}")
        posts.append(posted)
        predicts.append(predicted)
        ratios.append(posted / predicted)
    return {"ms": statistics.median(posts) * 1000, "inProcessMs": statistics.median(predicts) * 1000,
            "ratio": statistics.median(ratios), "status": status}


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def in_process(model: Any, single: pd.DataFrame) -> tuple[float, float]:
    """pyfunc predict on the servers' core, as a user calls it: single-row calls/s and p99."""
    with on_core(SERVER_CORE):
        model.predict(single)
        latencies = []
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            model.predict(single)
            latencies.append(time.perf_counter() - start)
    return len(latencies) / sum(latencies), float(np.percentile(latencies, 99)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlflow-python", required=True)
    parser.add_argument("--mlserver-python", required=True)
    parser.add_argument("--before-python", default="", help="venv of the runtime before this change (optional)")
    parser.add_argument("--before-source", default="", help="its runtime-images/python (optional)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--models", default="sklearn-gbm,xgboost,lightgbm")
    parser.add_argument("--servers", default="byom,mlflow,mlserver")
    parser.add_argument("--capture", type=int, default=1, help="also serve Byom with request capture at 100 %% (docs/monitoring.md)")
    parser.add_argument("--metrics", type=int, default=1, help="also serve Byom with its metrics on (a deployment's runtime)")
    parser.add_argument("--raw", required=True, help="file that keeps every wrk output")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="byom-bench-"))
    raw = Path(args.raw)
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(f"# bench:scorer raw wrk output, {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n")
    log = work / "servers.log"
    print(f"work folder {work} (server logs in servers.log); raw wrk output in {raw}", flush=True)
    models = build_models(work)
    single_frame, _ = training_data(1, 42)
    batch_frame, _ = training_data(10_000, 43)
    report: dict[str, Any] = {"models": {}}
    import mlflow.pyfunc

    for model_name in args.models.split(","):
        model_dir = models[model_name]
        pyfunc_model = mlflow.pyfunc.load_model(str(model_dir))
        calls, p99 = in_process(pyfunc_model, single_frame)
        entry: dict[str, Any] = {"inProcess": {"callsPerSecond": calls, "p99Ms": p99}, "servers": {}, "batch": {}, "closedLoop": {}}
        report["models"][model_name] = entry
        print(f"{model_name}: in-process {calls:.0f} calls/s (core {SERVER_CORE})", flush=True)
        ready = process_ready(sys.executable, model_dir, work / "ready" / model_name, PYTHON_SOURCE)
        servers: list[Server] = []
        try:
            for server_name in args.servers.split(","):
                if server_name == "byom":
                    servers.append(start_byom("byom", sys.executable, PYTHON_SOURCE, ready, log))
                    if args.capture:
                        # Every request captured into a local folder, as local mode does.
                        servers.append(start_byom("byom capture 100%", sys.executable, PYTHON_SOURCE, ready, log,
                                                  BYOM_CAPTURE_URI=f"file://{work / 'capture' / model_name}",
                                                  BYOM_CAPTURE_PERCENT="100"))
                    if args.metrics:
                        # As in a deployment: counted per request, an EMF line a minute (to the log).
                        servers.append(start_byom("byom metrics on", sys.executable, PYTHON_SOURCE, ready, log,
                                                  BYOM_DEPLOYMENT_ID="dep-bench"))
                    if args.before_python:
                        before_ready = process_ready(args.before_python, model_dir, work / "ready-before" / model_name, Path(args.before_source))
                        servers.append(start_byom("byom before", args.before_python, Path(args.before_source), before_ready, log))
                        if args.capture:  # capture then and now, side by side
                            servers.append(start_byom("byom capture 100% before", args.before_python, Path(args.before_source),
                                                      before_ready, log, BYOM_CAPTURE_PERCENT="100",
                                                      BYOM_CAPTURE_URI=f"file://{work / 'capture-before' / model_name}"))
                elif server_name == "mlflow":
                    servers.append(start_mlflow(args.mlflow_python, model_dir, log))
                else:
                    servers.append(start_mlserver(args.mlserver_python, model_dir, work / "mlserver" / model_name, log))
            one = {server.name: server.body_for(single_frame) for server in servers}
            for server in servers:  # warm-up
                wrk(server, server.path, one[server.name], 1, 1, work, raw, f"{model_name} {server.name} warm-up")
            # Interleaved: every server at one concurrency, then the next; all of that per round.
            runs: dict[str, dict[int, list[Load]]] = {s.name: {c: [] for c in concurrencies} for s in servers}
            # CPU per single-row request over every interleaved run: (server's process, its children, requests).
            cpu: dict[str, list[float]] = {s.name: [0.0, 0.0, 0] for s in servers}
            v2_runs: dict[str, list[Load]] = {s.name: [] for s in servers if s.v2_path and not s.name.endswith("before")}
            v2_one = v2_body(single_frame)
            for round_ in range(args.rounds):
                for concurrency in concurrencies:
                    for server in servers:
                        before = tree_cpu(server.process.pid)
                        load = wrk(server, server.path, one[server.name], concurrency, args.seconds, work, raw,
                                   f"{model_name} {server.name} round {round_ + 1}")
                        after = tree_cpu(server.process.pid)
                        runs[server.name][concurrency].append(load)
                        totals = cpu[server.name]
                        totals[0] += after[0] - before[0]
                        totals[1] += after[1] - before[1]
                        totals[2] += load.requests
                        print(f"  r{round_ + 1} {server.name:<20} c={concurrency:<3} {load.rps:8.0f} req/s  p50 {load.p50_ms:6.2f} ms  "
                              f"p99 {load.p99_ms:6.2f} ms  ({load.requests} requests, {load.non_2xx} non-2xx, {load.socket_errors} socket errors)", flush=True)
                for server in servers:
                    if server.name in v2_runs:
                        load = wrk(server, server.v2_path, v2_one, 1, args.seconds, work, raw, f"{model_name} {server.name} V2 round {round_ + 1}")
                        v2_runs[server.name].append(load)
                        print(f"  r{round_ + 1} {server.name:<20} V2 c=1 {load.rps:8.0f} req/s  p99 {load.p99_ms:6.2f} ms", flush=True)
            for server in servers:
                entry["servers"][server.name] = {
                    str(c): {"rps": statistics.median(l.rps for l in loads), "p50Ms": statistics.median(l.p50_ms for l in loads),
                             "p99Ms": statistics.median(l.p99_ms for l in loads), "all": [vars(l) for l in loads]}
                    for c, loads in runs[server.name].items()
                }
                worker_s, children_s, requests = cpu[server.name]
                entry["servers"][server.name]["cpu"] = {"requests": requests, "serverUs": worker_s / max(requests, 1) * 1e6,
                                                        "childrenUs": children_s / max(requests, 1) * 1e6}
                if server.name in v2_runs:
                    loads = v2_runs[server.name]
                    entry["servers"][server.name]["v2"] = {"rps": statistics.median(l.rps for l in loads),
                                                           "p99Ms": statistics.median(l.p99_ms for l in loads)}
                # wrk's c=1 percentiles checked by a client that keeps every latency; and the same
                # with the client's ACKs sent at once (delayed ACK x Nagle shows as a ~40 ms floor).
                plain = closed_loop(server.port, server.path, one[server.name], 3)
                quick = closed_loop(server.port, server.path, one[server.name], 3, quickack=True)
                entry["closedLoop"][server.name] = {"plain": plain, "quickack": quick}
                print(f"  {server.name:<20} own client c=1: {plain['rps']:.0f} req/s p99 {plain['p99_ms']:.2f} ms max {plain['max_ms']:.1f} ms; "
                      f"with TCP_QUICKACK {quick['rps']:.0f} req/s p99 {quick['p99_ms']:.2f} ms", flush=True)
            # 10k rows: JSON for every server; Arrow and CSV for Byom.
            for server in servers:
                bodies = [("application/json", server.body_for(batch_frame))]
                if server.name == "byom":
                    bodies += [(kind, columnar_body(batch_frame, kind)) for kind in ("application/vnd.apache.arrow.stream", "text/csv")]
                for content_type, body in bodies:
                    result = paired(server.port, server.path, body, content_type, pyfunc_model.predict, batch_frame, args.repeats)
                    entry["batch"][f"{server.name}|{content_type}"] = result
                    print(f"  {server.name:<20} 10k {content_type:<38} {result['ms']:8.1f} ms; in-process alongside "
                          f"{result['inProcessMs']:.1f} ms; paired ratio {result['ratio']:.2f}", flush=True)
            byom = next((s for s in servers if s.name == "byom"), None)
            if byom is not None and args.million:
                frame, _ = training_data(args.million, 44)
                body = frame.to_csv(index=False).encode()
                del frame
                before = peak_rss_kib(byom.process.pid)
                with on_core(CLIENT_CORE):
                    elapsed, status = post_once(byom.port, byom.path, body, "text/csv")
                if status != 200:
                    FAILURES.append(f"{model_name} 1M-row CSV: HTTP {status}")
                entry["million"] = {"rows": args.million, "bytes": len(body), "seconds": elapsed, "rowsPerSecond": args.million / elapsed,
                                    "peakRssMiB": peak_rss_kib(byom.process.pid) / 1024, "peakRssBeforeMiB": before / 1024}
                print(f"  byom {args.million} rows CSV ({len(body) / 1e6:.0f} MB): {elapsed:.1f} s, {args.million / elapsed:,.0f} rows/s, "
                      f"peak RSS {entry['million']['peakRssMiB']:.0f} MiB (before {before / 1024:.0f} MiB)", flush=True)
                del body
        finally:
            for server in servers:
                server.stop()
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadStart": load_start,
                         "loadEnd": os.getloadavg()[0], "serverCore": SERVER_CORE, "clientCore": CLIENT_CORE}
    report["seconds"], report["rounds"], report["concurrency"] = args.seconds, args.rounds, concurrencies
    report["failures"] = FAILURES
    Path(args.out).write_text(json.dumps(report, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("FAILED: " + "; ".join(FAILURES), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
