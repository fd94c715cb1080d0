"""The parse-and-convert step of one 10k-row, 20-column body (bench.py's data), run N times after a
warm-up: for counting its instructions with valgrind, which a loaded machine does not disturb.

  SRC=runtime-images/python valgrind --tool=callgrind $VENV/bin/python bench/scorer/parse_cost.py csv 4
  (and with 0; the cost of one body is the difference of the two "Collected" totals / 4)
SRC may name another runtime-images/python (e.g. a `git archive` of an older commit).
"""

from __future__ import annotations

import gc
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, os.environ.get("SRC", str(Path(__file__).resolve().parents[2] / "runtime-images" / "python")))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

from byom_ready.schema import Column  # noqa: E402
from byom_scorer import convert, formats  # noqa: E402

KINDS = {"int64": "Int64", "int32": "Int32", "float64": "Float64", "float32": "Float32", "bool": "Boolean"}


def main() -> None:
    kind, count = sys.argv[1], int(sys.argv[2])
    frame, _ = bench.training_data(10_000, 43)
    schema = [Column(name, KINDS[str(frame[name].dtype)]) for name in frame.columns]
    body = bench.byom_body(frame) if kind == "json" else bench.columnar_body(frame, "text/csv")
    del frame

    def once() -> None:
        if kind == "json":
            convert.parse_request(convert.parse_json(body), schema)
            return
        for batch in formats.read_batches(formats.CSV, io.BytesIO(body), schema):
            [convert.convert_arrow(batch.column(c.name), c, 0) for c in schema]

    gc.disable()  # as the scorer does for large bodies
    once()
    for _ in range(count):
        once()


if __name__ == "__main__":
    main()
