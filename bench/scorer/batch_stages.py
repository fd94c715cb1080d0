"""Where the time of one 10k-row POST goes, stage by stage, in the scorer's own process (no HTTP):
CSV read (Arrow), column conversion, predict, answer; JSON parse (orjson), columns, answer; and
the in-process pyfunc predict the batches are compared with; and a single-row JSON POST (µs). CPU time of this thread
(time.thread_time), min and median of --repeats, on the servers' core: steadier than wall time
on a shared machine, though a busy neighbour still slows a core's caches.

Run with the tabular runtime's venv, once per source tree to compare, e.g.
  $VENV/bin/python bench/scorer/batch_stages.py --source /path/to/other/runtime-images/python
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - sets the one-thread environment before numpy loads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(bench.PYTHON_SOURCE), help="the runtime-images/python to profile")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--models", default="sklearn-gbm,xgboost,lightgbm")
    parser.add_argument("--work", default="", help="a folder to keep the trained models in between runs")
    args = parser.parse_args()
    sys.path.insert(0, args.source)
    import gc

    import mlflow.pyfunc
    import orjson
    from byom_scorer import formats, model
    from byom_scorer.app import ScorerApp, Streamed
    from byom_scorer.config import Settings
    from byom_scorer.convert import Batch, convert_arrow, parse_json, parse_request

    work = Path(args.work or tempfile.mkdtemp(prefix="byom-stages-"))
    models = {name: work / name for name in args.models.split(",")}
    if not all(path.exists() for path in models.values()):
        work.mkdir(parents=True, exist_ok=True)
        models = {name: path for name, path in bench.build_models(work).items() if name in models}
    frame, _ = bench.training_data(10_000, 43)
    csv = bench.columnar_body(frame, "text/csv")
    body = bench.byom_body(frame)
    os.sched_setaffinity(0, {bench.SERVER_CORE})

    def timed(call) -> tuple[float, float]:
        call()
        times = []
        for _ in range(args.repeats):
            start = time.thread_time()
            call()
            times.append(time.thread_time() - start)
        return min(times) * 1000, statistics.median(times) * 1000

    print(f"source {args.source}; load average {os.getloadavg()[0]:.1f}; CPU ms (min / median of {args.repeats})", flush=True)
    for name, path in models.items():
        ready = bench.process_ready(sys.executable, path, work / f"ready-{abs(hash(args.source))}" / name, Path(args.source))
        os.environ.update(MODEL_PATH=str(ready), MODEL_ID="bench")
        app = ScorerApp(Settings.from_env())
        predictor = model.load_predictor(ready, "bench", False)
        app.model_loaded(predictor)
        schema = predictor.input_schema
        reference = mlflow.pyfunc.load_model(str(path))

        def post(content_type: bytes, data: bytes):
            def call() -> None:
                _, _, payload = app.handle(b"POST", "/model/score", "", {b"content-type": content_type}, data, None)
                if isinstance(payload, Streamed):
                    payload.file.read()
                    payload.file.close()
                app.release()

            return call

        batch = next(iter(formats.read_batches(formats.CSV, io.BytesIO(csv), schema)))
        columns = Batch([convert_arrow(batch.column(c.name), c, 0) for c in schema], schema)
        outputs = predictor.predict(columns, 10_000)
        payload = parse_json(body)

        def csv_answer() -> None:
            writer, sink = app._writer(formats.CSV)
            table = formats.output_table(list(outputs.names), list(outputs.columns), predictor.output_schema)
            try:
                writer.write(table)
            except TypeError:  # a source from before model.score_json
                writer.write(table, [])
            writer.close(table)
            sink.close()

        single = post(b"application/json", bench.byom_body(frame.head(1)))

        def singles() -> None:
            for _ in range(1000):
                single()

        single_row = timed(singles)  # ms per 1000 = µs per request
        gc.disable()  # as the server does for a large JSON body
        stages = {
            "in-process pyfunc predict (the baseline)": timed(lambda: reference.predict(frame)),
            "CSV: whole POST handled": timed(post(b"text/csv", csv)),
            "CSV: read (Arrow)": timed(lambda: list(formats.read_batches(formats.CSV, io.BytesIO(csv), schema))),
            "CSV: columns (convert_arrow)": timed(lambda: Batch([convert_arrow(batch.column(c.name), c, 0) for c in schema], schema)),
            f"predict ({predictor.batch_call_name})": timed(lambda: predictor.predict(columns, 10_000)),
            "CSV: answer": timed(csv_answer),
            "JSON: whole POST handled": timed(post(b"application/json", body)),
            "JSON: parse (orjson)": timed(lambda: parse_json(body)),
            "JSON: columns (parse_request)": timed(lambda: parse_request(payload, schema)),
            "JSON: answer": timed(lambda: _json_answer(model, orjson, outputs)),
            "single row: JSON POST handled (µs)": single_row,
        }
        gc.enable()
        print(f"== {name}", flush=True)
        for stage, (low, middle) in stages.items():
            print(f"  {stage:44s} {low:7.2f} / {middle:7.2f}", flush=True)


def _json_answer(model, orjson, outputs) -> bytes:
    """The H2O JSON answer of the outputs, as the source at hand writes it."""
    if hasattr(model, "score_json"):
        return b'{"id":"bench","score":' + model.score_json(list(outputs.columns)) + b',"fields":' + orjson.dumps(outputs.names) + b"}"
    return orjson.dumps({"id": "bench", "score": list(zip(*model.as_text_columns(outputs.columns))), "fields": outputs.names})


if __name__ == "__main__":
    main()
