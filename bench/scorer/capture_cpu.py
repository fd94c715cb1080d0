"""CPU per single-row request of Byom's runtime with capture off, capture at 100 % and metrics on.

`python bench/scorer/capture_cpu.py` with the tabular runtime's venv (run.ts prepares it; or
`BYOM_VENVS_DIR=/work/venvs npx tsx -e` …). Each server is one worker pinned to the same core; a
fixed number of keep-alive single-row requests is sent to each in turn, round after round, and
the CPU seconds of the worker and of its children (the capture writer process) are read from
/proc before and after. CPU time per request barely depends on what else the machine runs,
unlike req/s, so it is the figure to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
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


def send(port: int, body: bytes, count: int) -> None:
    request = (b"POST /model/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with on_core(CLIENT_CORE), socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = conn.makefile("rb")
        for _ in range(count):
            conn.sendall(request)
            status = reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"answer {status!r}")
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)


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
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="byom-capture-cpu-"))
    model = build_models(work)["sklearn-gbm"]
    ready = process_ready(sys.executable, model, work / "ready", PYTHON_SOURCE)
    log = work / "servers.log"
    servers = [
        start_byom("capture off", sys.executable, PYTHON_SOURCE, ready, log),
        start_byom("capture 100%", sys.executable, PYTHON_SOURCE, ready, log,
                   BYOM_CAPTURE_URI=f"file://{work / 'capture'}", BYOM_CAPTURE_PERCENT="100"),
        start_byom("metrics on", sys.executable, PYTHON_SOURCE, ready, log, BYOM_DEPLOYMENT_ID="dep-bench"),
    ]
    body = byom_body(training_data(1, 42)[0])
    per: dict[str, list[tuple[float, float]]] = {s.name: [] for s in servers}
    try:
        for server in servers:
            send(server.port, body, 500)  # warm-up
        time.sleep(1)
        for round_ in range(args.rounds):
            # Each round in another order: no server always follows the same one.
            for server in servers[round_ % 3 :] + servers[: round_ % 3]:
                before = tree_cpu(server.process.pid)
                send(server.port, body, args.requests)
                time.sleep(0.3)  # the writer's last read of the round
                after = tree_cpu(server.process.pid)
                per[server.name].append(((after[0] - before[0]) / args.requests * 1e6,
                                         (after[1] - before[1]) / args.requests * 1e6))
    finally:
        for server in servers:
            server.stop()
    off = per["capture off"]
    in_process(ready, body, work, args.rounds, args.requests)
    print(f"CPU µs per single-row request, medians of {args.rounds} rounds of {args.requests} (sklearn GBM); "
          "vs off: median of the rounds' ratios")
    for name, values in per.items():
        worker = statistics.median(w for w, _ in values)
        children = statistics.median(c for _, c in values)
        ratio = statistics.median((w + c) / o for (w, c), (o, _) in zip(values, off, strict=True))
        print(f"  {name:<14} worker {worker:6.1f}  child processes {children:5.1f}  total {worker + children:6.1f}  "
              f"vs off {ratio - 1:+.1%}")


if __name__ == "__main__":
    main()
