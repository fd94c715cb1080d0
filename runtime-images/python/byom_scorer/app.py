"""The scorer API (docs/runtimes.md) as one function from request to response (no network I/O
here): the H2O-style /model/… endpoints and the Open Inference Protocol under /v2/…."""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import parse_qs

import numpy as np
import orjson

from byom_ready.schema import scorer_data_type
from byom_scorer import formats, v2
from byom_scorer.auth import PassphraseCheck
from byom_scorer.capture import CaptureWriter, capture_writer
from byom_scorer.config import Settings
from byom_scorer.convert import (
    NUMERIC_JSON_MIN_BYTES,
    NUMPY_DTYPES,
    Batch,
    ScoreRequest,
    convert_arrow,
    parse_json,
    parse_numeric_json,
    parse_request,
)
from byom_scorer.errors import RequestError
from byom_scorer.metrics import Metrics
from byom_scorer.model import Outputs, Predictor, score_json
from byom_scorer.peer import SPLIT_ROWS, Peer

log = logging.getLogger("byom_scorer")

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
_LARGE_BODY = 64 * 1024
_SPOOL_BYTES = 8 * 1024 * 1024  # answers larger than this go to a temporary file


@dataclass
class Streamed:
    """An answer in a (spooled) file, written to the client in chunks with flow control."""

    file: IO[bytes]
    length: int


@dataclass
class Extra:
    """A body with extra response headers (V2's Inference-Header-Content-Length)."""

    body: bytes
    headers: bytes


Payload = bytes | Streamed | Extra
Response = tuple[int, bytes, Payload]


def _json(status: int, payload: Any) -> Response:
    return status, JSON, orjson.dumps(payload)


def _error(status: int, message: str, v2_path: bool, retry_after: int | None = None) -> Response:
    body = orjson.dumps({"error": message} if v2_path else {"detail": message})
    if retry_after is not None:
        return status, JSON, Extra(body, b"Retry-After: %d\r\n" % retry_after)
    return status, JSON, body


def needs_auth(path: str) -> bool:
    """Every model endpoint; health checks and the V2 server's own metadata are open."""
    return path.startswith("/model/") or path.startswith("/v2/models")


class ScorerApp:
    def __init__(self, settings: Settings, all_loaded: Callable[[], bool] = lambda: True) -> None:
        self.settings = settings
        self._all_loaded = all_loaded
        self._loaded: Predictor | None = None
        self.predictor: Predictor | None = None
        self._auth = PassphraseCheck(settings.passphrase_hash) if settings.passphrase_hash else None
        self._schema_answer: bytes | None = None
        self._sample_answer: bytes | None = None
        self._v2_metadata: bytes | None = None
        self._id = settings.model_id.encode()
        # V2 model names: the deployment's name (through its endpoint) and the runtime's MODEL_ID.
        self.model_names = [name for name in (settings.model_name, settings.model_id) if name]
        self._parsed: Any = None
        self.peer: Peer | None = None  # the sibling worker that predicts half of large batches
        self.metrics = Metrics.from_env(settings.model_id)  # None outside a deployment
        self.capture: CaptureWriter | None = None
        self._capturing = False  # this request was sampled for capture

    def model_loaded(self, predictor: Predictor) -> None:
        manifest = predictor.manifest
        schema = {
            "id": self.settings.model_id,
            "name": self.settings.model_id,
            "framework": manifest.framework,
            "schema": {
                "inputFields": [{"name": c.name, "dataType": scorer_data_type(c.type)} for c in predictor.input_schema],
                "outputFields": [
                    {"name": c.name, "dataType": scorer_data_type(c.type)} for c in predictor.output_schema or []
                ],
            },
        }
        self._schema_answer = orjson.dumps(schema)
        sample = manifest.sample_request or {"fields": [], "rows": []}
        sample = {"fields": sample["fields"], "rows": [[_text(v) for v in row] for row in sample["rows"]]}
        self._sample_answer = orjson.dumps(sample)
        outputs = [(c.name, v2.DATATYPES[c.type]) for c in predictor.output_schema or []]
        self._v2_metadata = orjson.dumps(
            v2.metadata(self.model_names, manifest.framework, predictor.input_schema, outputs)
        )
        settings = self.settings
        self.capture = capture_writer(settings.capture_uri, settings.capture_percent, predictor.input_schema)
        if self.capture is not None and self.metrics is not None:
            capture = self.capture
            self.metrics.capture_dropped = lambda: capture.dropped
        self._loaded = predictor

    def _ready(self) -> Predictor | None:
        if self.predictor is None and self._loaded is not None and self._all_loaded():
            self.predictor = self._loaded
        return self.predictor

    def authorize(
        self, path: str, authorization: str | None, client: str, shadow: bytes | None = None
    ) -> Response | None:
        """Called once the headers are in, before the body is read: an answer refuses the request."""
        if self._auth is None or not needs_auth(path):
            return None
        try:
            self._auth.require(authorization, client)
        except RequestError as error:
            self.refused(path, error.status, shadow)
            return _error(error.status, error.message, path.startswith("/v2"), error.retry_after)
        return None

    def refused(self, path: str, status: int, shadow: bytes | None) -> None:
        """Counts a request refused before its body was read (401, 429, 413) in the metrics."""
        if self.metrics is not None:
            self.metrics.refused(path, status, shadow)

    def handle(
        self,
        method: bytes,
        path: str,
        query: str,
        headers: dict[bytes, bytes],
        body: bytes,
        spool: IO[bytes] | None = None,
    ) -> Response:
        """`spool`: a columnar body, already on disk (server); `body` holds every other body."""
        # The workflow's verification requests are not user traffic; a champion's copies are.
        self._capturing = (
            self.capture is not None and headers.get(b"x-byom-shadow") != b"verify" and self.capture.sampled()
        )
        if self.metrics is None:
            return self._answer(method, path, query, headers, body, spool)
        started = time.perf_counter()
        answer = self._answer(method, path, query, headers, body, spool)
        self.metrics.observe(path, answer[0], time.perf_counter() - started, headers.get(b"x-byom-shadow"))
        return answer

    def _answer(
        self,
        method: bytes,
        path: str,
        query: str,
        headers: dict[bytes, bytes],
        body: bytes,
        spool: IO[bytes] | None,
    ) -> Response:
        try:
            if path.startswith("/v2"):
                return self._route_v2(method, path, headers, body)
            return self._route(method, path, query, headers, body, spool)
        except RequestError as error:
            return _error(error.status, error.message, path.startswith("/v2"), error.retry_after)
        except Exception:  # noqa: BLE001 - a fault, logged with its traceback, never shown to callers
            log.exception("scoring failed")
            return _error(500, "the model failed on this request; see the runtime log", path.startswith("/v2"))

    def _route(
        self, method: bytes, path: str, query: str, headers: dict[bytes, bytes], body: bytes, spool: IO[bytes] | None
    ) -> Response:
        if path in ("/readyz", "/healthz"):
            if self._ready() is None:
                return 503, TEXT, b"loading"
            return 200, TEXT, b"ok"
        if not path.startswith("/model/"):
            raise RequestError(404, f"no such endpoint {path}: the scorer API lives under /model/ (and /v2/)")
        predictor = self.predictor or self._ready()
        if path == "/model/id":
            return 200, TEXT, self._id
        if predictor is None:
            raise RequestError(503, "the model is still loading; retry when /readyz answers 200")
        if path == "/model/score":
            if method == b"POST":
                return self._score_body(predictor, headers, body, spool)
            if method == b"GET":
                return self._score_file(predictor, query)
            raise RequestError(405, "use POST /model/score with a body, or GET /model/score?file=<name>")
        if method != b"GET":
            raise RequestError(405, f"{path} answers GET only")
        if path == "/model/schema":
            return 200, JSON, self._schema_answer or b"{}"
        if path == "/model/sample_request":
            return 200, JSON, self._sample_answer or b"{}"
        if path == "/model/capabilities":
            return 200, JSON, b'["SCORE"]'
        raise RequestError(404, f"no such endpoint {path}")

    def _score_body(
        self, predictor: Predictor, headers: dict[bytes, bytes], body: bytes, spool: IO[bytes] | None
    ) -> Response:
        content_type = _header(headers, b"content-type")
        kind = formats.request_format(content_type)
        answer_kind = formats.response_format(_header(headers, b"accept"), kind)
        if kind != formats.JSON:
            return self._score_columnar(predictor, kind, answer_kind, spool if spool is not None else _memory(body))
        if len(body) < _LARGE_BODY:
            return self._score_json(predictor, body, answer_kind)
        # A large batch allocates hundreds of thousands of acyclic objects (parsed JSON, output
        # strings); the cyclic collector would walk them and the whole model again and again.
        gc.disable()
        try:
            return self._score_json(predictor, body, answer_kind)
        finally:
            gc.enable()

    def _score_json(self, predictor: Predictor, body: bytes, answer_kind: str) -> Response:
        schema = predictor.input_schema
        if len(body) >= NUMERIC_JSON_MIN_BYTES:
            request = parse_numeric_json(body, schema)
            if request is not None:
                return self._score(predictor, request, answer_kind)
        payload = parse_json(body)
        # Freeing a large parsed body takes a while: the server calls release() once the answer
        # is written, so the client does not wait for it.
        self._parsed = payload
        return self._score(predictor, parse_request(payload, schema), answer_kind)

    def release(self) -> None:
        self._parsed = None

    def _predict(self, predictor: Predictor, columns: Any, rows: int) -> Outputs:
        started = time.perf_counter()
        outputs = self._predict_rows(predictor, columns, rows)
        if self.metrics is not None:
            self.metrics.scored(rows, time.perf_counter() - started)
        if self._capturing and self.capture is not None:
            self.capture.offer(columns, rows, list(outputs.names), list(outputs.columns))
        return outputs

    def _predict_rows(self, predictor: Predictor, columns: Any, rows: int) -> Outputs:
        peer = self.peer
        if peer is None:
            return predictor.predict(columns, rows)
        peer.scoring(True)
        try:
            if peer.usable and predictor.splittable and rows >= SPLIT_ROWS:
                return peer.predict(predictor, columns, rows)
            return predictor.predict(columns, rows)
        finally:
            peer.scoring(False)

    def _score(self, predictor: Predictor, request: ScoreRequest, answer_kind: str = formats.JSON) -> Response:
        if request.row_count == 0:
            outputs = _no_outputs(predictor)
        else:
            outputs = self._predict(predictor, request.columns, request.row_count)
        names = list(outputs.names)
        extra_names: list[str] = []
        extra_columns: list[list[str]] = []
        if request.ids is not None and request.id_field is not None:
            extra_names.append(request.id_field)
            extra_columns.append(request.ids)
        for name, values in request.included:
            extra_names.append(name)
            extra_columns.append(values)
        if answer_kind != formats.JSON:
            table = formats.output_table(
                extra_names + names,
                [np.array(c, dtype=object) for c in extra_columns] + list(outputs.columns),
                predictor.output_schema,
            )
            writer, sink = self._writer(answer_kind)
            writer.write(table)
            writer.close(table)
            return self._finish(answer_kind, sink)
        # orjson.dumps({"id": …, "score": […], "fields": […]}), with the score written apart.
        score = score_json(list(outputs.columns), extra_columns) if request.row_count else b"[]"
        fields = b"" if request.no_field_names else b',"fields":' + orjson.dumps(extra_names + names)
        return 200, JSON, b'{"id":' + orjson.dumps(self.settings.model_id) + b',"score":' + score + fields + b"}"

    def _writer(self, kind: str) -> tuple[formats.AnswerWriter, IO[bytes]]:
        sink = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by the server
        return formats.AnswerWriter(kind, sink, self.settings.model_id), sink  # type: ignore[arg-type]

    def _finish(self, kind: str, sink: IO[bytes]) -> Response:
        length = sink.tell()
        sink.seek(0)
        return 200, formats.content_type(kind), Streamed(sink, length)

    def _score_columnar(self, predictor: Predictor, kind: str, answer_kind: str, body: IO[bytes]) -> Response:
        """Batch by batch: read, convert, predict, write; only a few batches are ever in memory."""
        schema = predictor.input_schema
        writer, sink = self._writer(answer_kind)
        first_row = 0
        empty = None
        try:
            for batch in formats.read_batches(kind, body, schema):
                rows = batch.num_rows
                if rows == 0:
                    continue
                columns = Batch(
                    [convert_arrow(batch.column(column.name), column, first_row) for column in schema], schema
                )
                outputs = self._predict(predictor, columns, rows)
                table = formats.output_table(list(outputs.names), list(outputs.columns), predictor.output_schema)
                empty = table.slice(0, 0)
                writer.write(table, score_json(list(outputs.columns)) if answer_kind == formats.JSON else b"[]")
                first_row += rows
            if empty is None:
                empty = _empty_outputs(predictor)
            writer.close(empty)
        except BaseException:
            sink.close()
            raise
        return self._finish(answer_kind, sink)

    def _score_file(self, predictor: Predictor, query: str) -> Response:
        names = parse_qs(query).get("file")
        if not names or not names[0]:
            raise RequestError(400, "GET /model/score needs ?file=<name of a CSV in the batch folder>")
        if self.settings.batch_dir is None:
            raise RequestError(404, "batch scoring is off: the runtime has no BYOM_BATCH_DIR")
        folder = self.settings.batch_dir.resolve()
        candidate = (folder / names[0]).resolve()
        if not candidate.is_relative_to(folder) or candidate == folder:
            raise RequestError(400, f"file {names[0]!r} is outside the batch folder")
        if not candidate.is_file():
            raise RequestError(404, f"file {names[0]!r} is not in the batch folder")
        if candidate.stat().st_size == 0:
            raise RequestError(400, f"file {names[0]!r} is empty: it needs a header row")
        with candidate.open("rb") as stream:
            return self._score_columnar(predictor, formats.CSV, formats.JSON, stream)

    # ---- Open Inference Protocol (V2) ----------------------------------------------------------

    def _route_v2(self, method: bytes, path: str, headers: dict[bytes, bytes], body: bytes) -> Response:
        parts = path.rstrip("/").split("/")[1:]  # ["v2", ...]
        if parts == ["v2"]:
            return _json(200, {"name": "byom", "version": "1", "extensions": ["binary_tensor_data"]})
        if parts == ["v2", "health", "live"]:
            return 200, JSON, b""
        if parts == ["v2", "health", "ready"]:
            return (200 if self._ready() is not None else 503), JSON, b""
        if len(parts) < 3 or parts[1] != "models":
            raise RequestError(404, f"no such endpoint {path}")
        name = parts[2]
        rest = parts[3:]
        if len(rest) >= 2 and rest[0] == "versions":
            if rest[1] != "1":
                raise RequestError(404, f"model {name!r} has one version, 1")
            rest = rest[2:]
        if name not in self.model_names:
            raise RequestError(404, f"no model {name!r} here; this endpoint serves {self.model_names[0]!r}")
        predictor = self.predictor or self._ready()
        if rest == ["ready"]:
            return (200 if predictor is not None else 503), JSON, b""
        if predictor is None:
            raise RequestError(503, "the model is still loading; retry when /v2/health/ready answers 200")
        if rest == []:
            if method != b"GET":
                raise RequestError(405, f"{path} answers GET only")
            return 200, JSON, self._v2_metadata or b"{}"
        if rest == ["infer"]:
            if method != b"POST":
                raise RequestError(405, f"{path} answers POST only")
            return self._infer(predictor, name, headers, body)
        raise RequestError(404, f"no such endpoint {path}")

    def _infer(self, predictor: Predictor, name: str, headers: dict[bytes, bytes], body: bytes) -> Response:
        length = headers.get(v2.HEADER_LENGTH)
        if length is not None and not length.strip().isdigit():
            raise RequestError(400, "Inference-Header-Content-Length must be a number of bytes")
        infer = v2.parse_infer(body, None if length is None else int(length), predictor.input_schema)
        outputs = self._predict(predictor, Batch(infer.columns, predictor.input_schema), infer.rows)
        columns = list(outputs.columns)
        types = {column.name: column.type for column in predictor.output_schema or []}
        if any(
            name in types and column.dtype != np.dtype(NUMPY_DTYPES[types[name]])
            for name, column in zip(outputs.names, columns, strict=True)
        ):  # typed by the output schema, as columnar answers are
            table = formats.output_table(list(outputs.names), columns, predictor.output_schema)
            columns = [column.to_numpy(zero_copy_only=False) for column in table.columns]
        answer, head_length = v2.answer(name, infer, list(outputs.names), columns)
        if head_length is None:
            return 200, JSON, answer
        return 200, b"application/octet-stream", Extra(answer, b"Inference-Header-Content-Length: %d\r\n" % head_length)


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _memory(body: bytes) -> IO[bytes]:
    import io

    return io.BytesIO(body)


def _no_outputs(predictor: Predictor) -> Outputs:
    """The answer to zero rows, without calling the model (many refuse an empty batch): the
    output schema's fields with no values."""
    if not predictor.output_schema:
        raise RequestError(
            400, '"rows" is empty and the model\'s output fields are unknown without a prediction: send at least one row'
        )
    return Outputs(
        [c.name for c in predictor.output_schema],
        [np.empty(0, dtype=NUMPY_DTYPES[c.type]) for c in predictor.output_schema],
    )


def _empty_outputs(predictor: Predictor) -> Any:
    import pyarrow as pa

    from byom_scorer.convert import arrow_type

    columns = predictor.output_schema or []
    return pa.table({c.name: pa.array([], arrow_type(c.type)) for c in columns})


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
