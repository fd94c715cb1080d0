"""Body formats of POST /model/score: which media types are taken, and columnar bodies read and
written batch by batch so that a body of a million rows never sits in memory whole.

A columnar body arrives spooled to a temporary file (byom_scorer.server); it is read in batches
of at most BATCH_ROWS rows, each batch is converted (byom_scorer.convert), predicted and written
to a spooled answer before the next is read. Memory holds a bounded number of batches, whatever
the body's size.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import orjson

from byom_ready.schema import Column
from byom_scorer.convert import arrow_type, check_columnar_fields, typed_batch_ok, typed_convert_options, typed_reading
from byom_scorer.errors import RequestError, bad_request

JSON = "application/json"
ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
CSV = "text/csv"
COLUMNAR = (ARROW, PARQUET, CSV)
ACCEPTED = (JSON, *COLUMNAR)
BATCH_ROWS = int(os.environ.get("BYOM_BATCH_ROWS", "65536"))
# Arrow reads a CSV stream several blocks ahead of the batch it hands out.
CSV_BLOCK_BYTES = 1024 * 1024
# Arrow hands out one batch per block, and every predict call has a fixed cost (two half batches
# cost a GBM ~1.3x one whole): a body up to this size is read as one block, so a typical 10k-row
# request (~2 MB) is predicted in one call. Larger bodies go block by block, in bounded memory.
WHOLE_CSV_BYTES = 8 * 1024 * 1024


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type header (JSON when absent)."""
    if header is None or not header.strip():
        return JSON
    return header.split(";", 1)[0].strip().lower()


def request_format(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind == JSON or kind.endswith("+json"):
        return JSON
    if kind in COLUMNAR:
        return kind
    raise RequestError(415, f"Content-Type {kind!r} is not taken: send one of {', '.join(ACCEPTED)}")


def response_format(accept: str | None, request: str) -> str:
    """The first media type of Accept the scorer writes (by q-value); the request's for */*."""
    if accept is None or not accept.strip():
        return request
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        kind, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            choices.append((-quality, index, kind.lower()))
    for _, _, kind in sorted(choices):
        if kind in ("*/*", "application/*") or kind == request:
            return request
        if kind in ACCEPTED:
            return kind
        if kind == "text/*":
            return CSV
    raise RequestError(406, f"Accept {accept!r} names no format the scorer writes: {', '.join(ACCEPTED)}")


def is_columnar(content_type: str | None) -> bool:
    return media_type(content_type) in COLUMNAR


# ---- reading ----------------------------------------------------------------------------------


def read_batches(kind: str, body: IO[bytes], schema: list[Column]) -> Iterator[Any]:
    """pyarrow RecordBatches of at most BATCH_ROWS rows; 400 for a body that is not `kind`, and
    for columns that do not match the schema (checked from the header, before any row)."""
    import pyarrow as pa

    try:
        if kind == CSV:
            yield from _csv_batches(body, schema)
        elif kind == ARROW:
            reader = pa.ipc.open_stream(body)
            check_columnar_fields(reader.schema.names, schema)
            for batch in reader:
                yield from _slices(batch)
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(body)
            check_columnar_fields(parquet.schema_arrow.names, schema)
            yield from parquet.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        raise bad_request(f"the body is not a valid {kind} body: {' '.join(str(error).split())}") from None


def _slices(batch: Any) -> Iterator[Any]:
    for start in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(start, BATCH_ROWS)


def _csv_batches(body: IO[bytes], schema: list[Column]) -> Iterator[Any]:
    """Numbers and booleans read typed by Arrow (convert.typed_reading) while it reads them as the
    rules do; from the first batch it cannot (a cell it refuses, a missing integer, a spelling it
    reads differently), the rest of the body is read as text, which decides and words errors."""
    import pyarrow as pa

    types = typed_reading(schema)
    start = body.tell() if types is not None and body.seekable() else None
    if types is None or start is None:
        yield from _text_csv_batches(body, schema, 0)
        return
    whole = _whole_body(body, start)
    if whole is not None:
        yield from _whole_csv_batches(whole, body, start, schema, types)
        return
    watched = _Watched(body)
    done = 0
    try:
        reader = _open_csv(watched, typed_convert_options(types), 0)
        check_columnar_fields(reader.schema.names, schema)
        for batch in reader:
            # Everything read so far is free of the spellings Arrow reads its own way, this
            # batch included (Arrow reads a batch's bytes before handing it out).
            if watched.unlike_rules or not typed_batch_ok([batch.column(c.name) for c in schema], schema):
                break
            yield from _slices(batch)
            done += batch.num_rows
        else:
            return
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # a cell Arrow refuses: the text path reads it (and words it if it is bad)
    # Arrow's reader reads ahead on an I/O thread of its own: cut it off the body before the
    # text reading moves the body's position (their reads interleaved, and cells came out mixed).
    watched.release()
    body.seek(start)
    yield from _text_csv_batches(body, schema, done)


def _text_csv_batches(body: IO[bytes], schema: list[Column], skip: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Every cell as text: the JSON text rules decide (byom_scorer.convert), not Arrow's inference.
    # Column types are only known for the schema's names; others are refused after the header.
    options = pacsv.ConvertOptions(
        column_types={column.name: pa.string() for column in schema},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    reader = _open_csv(body, options, skip)
    check_columnar_fields(reader.schema.names, schema)
    for batch in reader:
        yield from _slices(batch)


def _open_csv(body: Any, convert_options: Any, skip: int) -> Any:
    import pyarrow.csv as pacsv

    return pacsv.open_csv(
        body,
        read_options=pacsv.ReadOptions(block_size=_csv_block_bytes(body), use_threads=False, skip_rows_after_names=skip),
        convert_options=convert_options,
    )


# Single bytes (a memchr each): `nan(…)` has a `(`, `0x…` an `x`; numeric text has neither.
_UNLIKE_RULES = (b"(", b"x", b"X")


def _whole_body(body: IO[bytes], start: int) -> bytes | None:
    """The rest of a body small enough to be read as one block (WHOLE_CSV_BYTES); None for more."""
    size = body.seek(0, os.SEEK_END) - start
    body.seek(start)
    if size > WHOLE_CSV_BYTES:
        return None
    data = body.read()
    body.seek(start)
    return data


def _whole_csv_batches(data: bytes, body: IO[bytes], start: int, schema: list[Column], types: dict[str, Any]) -> Iterator[Any]:
    """A body read as one block from memory (one predict call for a typical 10k-row request, no
    read-ahead thread): typed, unless it holds a spelling Arrow reads unlike the rules or Arrow
    cannot decide it as they do; then the text reading, which decides and words errors."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not any(mark in data for mark in _UNLIKE_RULES):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=pacsv.ReadOptions(block_size=max(len(data) + 1, 64 * 1024), use_threads=False),
                convert_options=typed_convert_options(types),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            table = None
        if table is not None:
            check_columnar_fields(table.column_names, schema)
            if typed_batch_ok([table.column(c.name) for c in schema], schema):
                for batch in table.to_batches():
                    yield from _slices(batch)
                return
    yield from _text_csv_batches(body, schema, 0)


class _Watched(io.RawIOBase):
    """A body as Arrow reads it, watched for the two spellings Arrow reads unlike the rules:
    `nan(…)` (Arrow: NaN; the rules: not a number) and `0x…` (Arrow: a hexadecimal integer)."""

    def __init__(self, body: IO[bytes]) -> None:
        super().__init__()
        self._body: IO[bytes] | None = body
        self._lock = threading.Lock()
        self.unlike_rules = False

    def release(self) -> None:
        """From now on the body is not touched: reads see its end (once a read under way ends)."""
        with self._lock:
            self._body = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        with self._lock:
            return 0 if self._body is None else self._body.seek(offset, whence)

    def tell(self) -> int:
        with self._lock:
            return 0 if self._body is None else self._body.tell()

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            data = b"" if self._body is None else self._body.read(size)
        if data and not self.unlike_rules:
            self.unlike_rules = any(mark in data for mark in _UNLIKE_RULES)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv_block_bytes(body: IO[bytes]) -> int:
    """The whole body as one block when it is small and its size is known; CSV_BLOCK_BYTES else."""
    try:
        if body.seekable():
            here = body.tell()
            remaining = body.seek(0, os.SEEK_END) - here
            body.seek(here)
            if remaining <= WHOLE_CSV_BYTES:
                return max(remaining + 1, 64 * 1024)
    except (OSError, ValueError):
        pass
    return CSV_BLOCK_BYTES


# ---- writing ----------------------------------------------------------------------------------


def output_table(names: list[str], columns: list[np.ndarray], output_schema: list[Column] | None) -> Any:
    """The predictions as an Arrow table typed by the output schema (where the values fit it)."""
    import pyarrow as pa

    types = {column.name: column.type for column in output_schema or []}
    arrays = []
    for name, values in zip(names, columns, strict=True):
        array = pa.array(values.astype(object) if values.dtype.kind == "O" else values)
        kind = types.get(name)
        if kind is not None:
            try:
                array = array.cast(arrow_type(kind), safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # the model's own type: a value that does not fit the schema is not rewritten
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=names)


class AnswerWriter:
    """Writes the answer of a columnar or JSON response batch by batch into `sink`."""

    def __init__(self, kind: str, sink: IO[bytes], model_id: str) -> None:
        self.kind = kind
        self.sink = sink
        self.model_id = model_id
        self._writer: Any = None
        self._rows = 0

    def write(self, table: Any, score: bytes = b"[]") -> None:
        """`score`: the JSON answer's rows of this batch, a JSON array (model.score_json)."""
        if self.kind == JSON:
            if self._writer is None:
                self.sink.write(b'{"id":' + orjson.dumps(self.model_id) + b',"fields":' + orjson.dumps(table.column_names) + b',"score":[')
                self._writer = True
            if len(score) > 2:
                if self._rows:
                    self.sink.write(b",")
                self.sink.write(memoryview(score)[1:-1])
        else:
            if self._writer is None:
                self._writer = self._open(table.schema)
            self._writer.write_table(table)
        self._rows += table.num_rows

    def _open(self, schema: Any) -> Any:
        import pyarrow as pa

        if self.kind == ARROW:
            return pa.ipc.new_stream(self.sink, schema)
        if self.kind == PARQUET:
            import pyarrow.parquet as pq

            return pq.ParquetWriter(self.sink, schema)
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(self.sink, schema)

    def close(self, empty_table: Any) -> None:
        if self._writer is None:
            if self.kind == JSON:
                self.sink.write(b'{"id":' + orjson.dumps(self.model_id) + b',"fields":' + orjson.dumps(empty_table.column_names) + b',"score":[')
            else:
                self._writer = self._open(empty_table.schema)
        if self.kind == JSON:
            self.sink.write(b"]}")
        else:
            self._writer.close()


def content_type(kind: str) -> bytes:
    return {JSON: b"application/json", ARROW: ARROW.encode(), PARQUET: PARQUET.encode(), CSV: b"text/csv; charset=utf-8"}[kind]
