"""The 10k-row part of bench:scorer alone (minutes, not the hour of the full run): one Byom
worker per source tree, JSON, CSV and Arrow POSTs, each paired with the in-process predict of the
same rows on the servers' core (bench.py's `paired`), sources interleaved round by round.

Run with the tabular runtime's venv (the one `npm run bench:scorer` uses), e.g.
  $VENV/bin/python bench/scorer/batches.py --before-source /path/to/other/runtime-images/python
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - sets the one-thread environment before numpy loads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-source", default="", help="another runtime-images/python to serve beside this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="paired POST/predict pairs per round")
    parser.add_argument("--models", default="sklearn-gbm,xgboost,lightgbm")
    args = parser.parse_args()
    import mlflow.pyfunc

    work = Path(tempfile.mkdtemp(prefix="byom-batches-"))
    models = bench.build_models(work)
    frame, _ = bench.training_data(10_000, 43)
    arrow = "application/vnd.apache.arrow.stream"
    bodies = {"json": ("application/json", bench.byom_body(frame)), "csv": ("text/csv", bench.columnar_body(frame, "text/csv")),
              "arrow": (arrow, bench.columnar_body(frame, arrow))}
    sources = [("this", bench.PYTHON_SOURCE)] + ([("before", Path(args.before_source))] if args.before_source else [])
    print(f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    for model_name in args.models.split(","):
        model = mlflow.pyfunc.load_model(str(models[model_name]))
        servers = []
        try:
            for name, source in sources:
                ready = bench.process_ready(sys.executable, models[model_name], work / f"ready-{name}" / model_name, source)
                servers.append(bench.start_byom(name, sys.executable, source, ready, work / "servers.log"))
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for _ in range(args.rounds):
                for kind, (content_type, body) in bodies.items():
                    for server in servers:
                        result = bench.paired(server.port, server.path, body, content_type, model.predict, frame, args.repeats)
                        results.setdefault((kind, server.name), []).append(result)
            for (kind, name), runs in sorted(results.items()):
                print(f"{model_name:<12} {kind:<6} {name:<7} ratio {statistics.median(r['ratio'] for r in runs):.2f}  "
                      f"POST {statistics.median(r['ms'] for r in runs):6.1f} ms  in-process {statistics.median(r['inProcessMs'] for r in runs):6.1f} ms",
                      flush=True)
        finally:
            for server in servers:
                server.stop()
    print(f"load average at end {os.getloadavg()[0]:.1f}; failures: {bench.FAILURES or 'none'}", flush=True)
    if bench.FAILURES:
        sys.exit(1)


if __name__ == "__main__":
    main()
