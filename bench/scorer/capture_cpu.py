"""CPU and latency per single-row request of Byom's runtime with capture off, capture at 100 % and metrics on.

`python bench/scorer/capture_cpu.py` with the tabular runtime's venv (run.ts prepares it; or
`BYOM_VENVS_DIR=/work/venvs npx tsx -e` …). Each server is one worker pinned to the same core; a
fixed number of keep-alive single-row requests is sent to each in turn (one at a time), round after
round, and the CPU seconds of the worker and of its children (the capture writer process) are read
from /proc before and after; every request's latency is kept (p50, p99 per round). CPU time per
request barely depends on what else the machine runs, unlike req/s and the latency tail, so it is
the figure to compare on a shared machine; for the tail, compare servers within a round.
`--variant NAME=DIR` adds a capturing server run from another copy of runtime-images/python (an
earlier commit's, say), interleaved with the others.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import (  # noqa: E402
    CLIENT_CORE,
    PYTHON_SOURCE,
    byom_body,
    build_models,
    on_core,
    process_ready,
    start_byom,
    training_data,
    tree_cpu,
)


def send(port: int, body: bytes, count: int) -> list[float]:
    """Sends `count` requests one at a time; their latencies in ms."""
    request = (b"POST /model/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with on_core(CLIENT_CORE), socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = conn.makefile("rb")
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            conn.sendall(request)
            status = reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"answer {status!r}")
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def in_process(ready: Path, body: bytes, work: Path, rounds: int, requests: int) -> None:
    """The request path alone, without the network: ScorerApp.handle in this process (pinned to
    the servers' core) with capture off and at 100 % (its writer process on the same core),
    alternating; process CPU time per request, so the writer's own CPU is not counted here."""
    sys.path.insert(0, str(PYTHON_SOURCE))
    from byom_scorer.app import ScorerApp
    from byom_scorer.config import Settings
    from byom_scorer.model import load_predictor

    from bench import SERVER_CORE

    def app(capture: bool) -> ScorerApp:
        settings = Settings(model_path=ready, model_id="bench", port=0, host="127.0.0.1", workers=1,
                            max_body_bytes=1 << 26, passphrase_hash=None, batch_dir=None, predict_proba=False,
                            capture_uri=f"file://{work / 'in-process'}" if capture else None,
                            capture_percent=100 if capture else 0)
        scorer = ScorerApp(settings)
        scorer.model_loaded(load_predictor(ready, "bench", False))
        scorer._ready()
        return scorer

    # The bench's one-row frame has no feature names: sklearn would warn on every request.
    warnings.simplefilter("ignore")
    apps = {"capture off": app(False), "capture 100%": app(True)}
    headers = {b"content-type": b"application/json"}
    per: dict[str, list[float]] = {name: [] for name in apps}
    with on_core(SERVER_CORE):
        for _ in range(rounds):
            for name, scorer in apps.items():
                started = time.process_time()
                for _ in range(requests):
                    assert scorer.handle(b"POST", "/model/score", "", headers, body)[0] == 200
                    scorer.release()
                per[name].append((time.process_time() - started) / requests * 1e6)
    apps["capture 100%"].capture.close()  # type: ignore[union-attr]
    off = per["capture off"]
    print(f"request path in process, CPU µs per single-row request, medians of {rounds} rounds of {requests}:")
    for name, values in per.items():
        ratio = statistics.median(v / o for v, o in zip(values, off, strict=True))
        print(f"  {name:<14} {statistics.median(values):6.1f}  vs off {ratio - 1:+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000, help="per server and round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="also a capturing server from this runtime-images/python")
    parser.add_argument("--no-metrics", action="store_true", help="leave out the metrics-on control")
    parser.add_argument("--no-in-process", action="store_true", help="leave out the in-process request path")
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="byom-capture-cpu-"))
    model = build_models(work)["sklearn-gbm"]
    ready = process_ready(sys.executable, model, work / "ready", PYTHON_SOURCE)
    log = work / "servers.log"
    servers = [
        start_byom("capture off", sys.executable, PYTHON_SOURCE, ready, log),
        start_byom("capture 100%", sys.executable, PYTHON_SOURCE, ready, log,
                   BYOM_CAPTURE_URI=f"file://{work / 'capture'}", BYOM_CAPTURE_PERCENT="100"),
    ]
    if not args.no_metrics:
        servers.append(start_byom("metrics on", sys.executable, PYTHON_SOURCE, ready, log, BYOM_DEPLOYMENT_ID="dep-bench"))
    for variant in args.variant:
        name, _, source = variant.partition("=")
        servers.append(start_byom(name, sys.executable, Path(source), ready, log,
                                  BYOM_CAPTURE_URI=f"file://{work / name.replace(' ', '-')}", BYOM_CAPTURE_PERCENT="100"))
    body = byom_body(training_data(1, 42)[0])
    # Per server and round: worker CPU µs, child processes' CPU µs, req/s, p50 ms, p99 ms.
    per: dict[str, list[tuple[float, float, float, float, float]]] = {s.name: [] for s in servers}
    try:
        for server in servers:
            send(server.port, body, 500)  # warm-up
        time.sleep(1)
        for round_ in range(args.rounds):
            # Each round in another order: no server always follows the same one.
            shift = round_ % len(servers)
            for server in servers[shift:] + servers[:shift]:
                before = tree_cpu(server.process.pid)
                started = time.perf_counter()
                latencies = send(server.port, body, args.requests)
                elapsed = time.perf_counter() - started
                time.sleep(0.3)  # the writer's last read of the round
                after = tree_cpu(server.process.pid)
                per[server.name].append(((after[0] - before[0]) / args.requests * 1e6,
                                         (after[1] - before[1]) / args.requests * 1e6, args.requests / elapsed,
                                         percentile(latencies, 0.5), percentile(latencies, 0.99)))
    finally:
        for server in servers:
            server.stop()
    load_end = os.getloadavg()[0]
    dropped = [line for line in log.read_text(errors="replace").splitlines() if "capture dropped" in line or "capture stopped" in line
               or "No module named" in line]
    off = per["capture off"]
    if not args.no_in_process:
        in_process(ready, body, work, args.rounds, args.requests)
    print(f"per single-row request, medians of {args.rounds} interleaved rounds of {args.requests} (sklearn GBM, one "
          f"at a time); vs off: median of the rounds' ratios; load average at end {load_end:.1f}")
    for name, values in per.items():
        worker = statistics.median(v[0] for v in values)
        children = statistics.median(v[1] for v in values)
        ratio = statistics.median((v[0] + v[1]) / o[0] for v, o in zip(values, off, strict=True))
        rate = statistics.median(v[2] / o[2] for v, o in zip(values, off, strict=True))
        p99 = statistics.median(v[4] / o[4] for v, o in zip(values, off, strict=True))
        print(f"  {name:<18} CPU µs worker {worker:6.1f} + children {children:5.1f} = {worker + children:6.1f} "
              f"({ratio - 1:+.1%})  req/s {statistics.median(v[2] for v in values):6.0f} ({rate - 1:+.1%})  "
              f"p50 {statistics.median(v[3] for v in values):5.2f} ms  p99 {statistics.median(v[4] for v in values):5.2f} ms "
              f"({p99 - 1:+.1%})")
    print("p99 ms per round, in the order run:")
    for name, values in per.items():
        print(f"  {name:<18} " + " ".join(f"{v[4]:.2f}" for v in values))
    print("server log: " + ("; ".join(dropped) if dropped else "no capture drops or errors"))


if __name__ == "__main__":
    main()
