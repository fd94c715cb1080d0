"""The scorer API of DESIGN §4 as one function from request to response (no I/O here)."""

from __future__ import annotations

import csv
import gc
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from byom_ready.schema import scorer_data_type
from byom_scorer.auth import PassphraseCheck
from byom_scorer.config import Settings
from byom_scorer.convert import ScoreRequest, parse_request
from byom_scorer.errors import RequestError
from byom_scorer.fast_rows import parse_request_bytes
from byom_scorer.model import Predictor, as_text_columns
from byom_scorer.peer import SPLIT_ROWS, Peer

log = logging.getLogger("byom_scorer")

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
Response = tuple[int, bytes, bytes]
_LARGE_BODY = 64 * 1024


def _json(status: int, payload: Any) -> Response:
    return status, JSON, orjson.dumps(payload)


class ScorerApp:
    def __init__(self, settings: Settings, all_loaded: Callable[[], bool] = lambda: True) -> None:
        self.settings = settings
        self._all_loaded = all_loaded
        self._loaded: Predictor | None = None
        self.predictor: Predictor | None = None
        self._auth = PassphraseCheck(settings.passphrase_hash) if settings.passphrase_hash else None
        self._schema_answer: bytes | None = None
        self._sample_answer: bytes | None = None
        self._id = settings.model_id.encode()
        self._parsed: Any = None
        self.peer: Peer | None = None  # the sibling worker that predicts half of large batches

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
        self._loaded = predictor

    def _ready(self) -> Predictor | None:
        if self.predictor is None and self._loaded is not None and self._all_loaded():
            self.predictor = self._loaded
        return self.predictor

    def handle(self, method: bytes, path: str, query: str, authorization: str | None, content_type: str | None, body: bytes) -> Response:
        try:
            return self._route(method, path, query, authorization, content_type, body)
        except RequestError as error:
            return _json(error.status, {"detail": error.message})
        except Exception:  # noqa: BLE001 - a fault, logged with its traceback, never shown to callers
            log.exception("scoring failed")
            return _json(500, {"detail": "the model failed on this request; see the runtime log"})

    def _route(self, method: bytes, path: str, query: str, authorization: str | None, content_type: str | None, body: bytes) -> Response:
        if path in ("/readyz", "/healthz"):
            if self._ready() is None:
                return 503, TEXT, b"loading"
            return 200, TEXT, b"ok"
        if not path.startswith("/model/"):
            raise RequestError(404, f"no such endpoint {path}: the scorer API lives under /model/")
        if self._auth is not None:
            self._auth.require(authorization)
        predictor = self.predictor or self._ready()
        if path == "/model/id":
            return 200, TEXT, self._id
        if predictor is None:
            raise RequestError(503, "the model is still loading; retry when /readyz answers 200")
        if path == "/model/score":
            if method == b"POST":
                return self._score_body(predictor, content_type, body)
            if method == b"GET":
                return self._score_file(predictor, query)
            raise RequestError(405, "use POST /model/score with a JSON body, or GET /model/score?file=<name>")
        if method != b"GET":
            raise RequestError(405, f"{path} answers GET only")
        if path == "/model/schema":
            return 200, JSON, self._schema_answer or b"{}"
        if path == "/model/sample_request":
            return 200, JSON, self._sample_answer or b"{}"
        if path == "/model/capabilities":
            return 200, JSON, b'["SCORE"]'
        raise RequestError(404, f"no such endpoint {path}")

    def _score_body(self, predictor: Predictor, content_type: str | None, body: bytes) -> Response:
        if len(body) < _LARGE_BODY:
            return self._score_body_now(predictor, content_type, body)
        # A large batch allocates hundreds of thousands of acyclic objects (parsed JSON, output
        # strings); the cyclic collector would walk them and the whole model again and again.
        gc.disable()
        try:
            return self._score_body_now(predictor, content_type, body)
        finally:
            gc.enable()

    def _score_body_now(self, predictor: Predictor, content_type: str | None, body: bytes) -> Response:
        if content_type is not None and "json" not in content_type.lower():
            raise RequestError(415, f"Content-Type {content_type!r} is not JSON: send application/json")
        if len(body) >= _LARGE_BODY:
            request = parse_request_bytes(body, predictor.input_schema)
            if request is not None:
                return self._score(predictor, request)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise RequestError(415, f"the body is not JSON: {error}") from None
        # Freeing a large parsed body takes a while: the server calls release() once the answer
        # is written, so the client does not wait for it.
        self._parsed = payload
        return self._score(predictor, parse_request(payload, predictor.input_schema))

    def release(self) -> None:
        self._parsed = None

    def _score(self, predictor: Predictor, request: ScoreRequest) -> Response:
        peer = self.peer
        if peer is None:
            outputs = predictor.predict(request.columns, request.row_count)
        else:
            peer.scoring(True)
            try:
                if peer.usable and predictor.splittable and request.row_count >= SPLIT_ROWS:
                    outputs = peer.predict(predictor, request.columns, request.row_count)
                else:
                    outputs = predictor.predict(request.columns, request.row_count)
            finally:
                peer.scoring(False)
        names = list(outputs.names)
        extra_names: list[str] = []
        extra_columns: list[list[str]] = []
        if request.ids is not None and request.id_field is not None:
            extra_names.append(request.id_field)
            extra_columns.append(request.ids)
        for name, values in request.included:
            extra_names.append(name)
            extra_columns.append(values)
        score = list(zip(*extra_columns, *as_text_columns(outputs.columns))) if request.row_count else []
        answer: dict[str, Any] = {"id": self.settings.model_id, "score": score}
        if not request.no_field_names:
            answer["fields"] = extra_names + names
        return _json(200, answer)

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
        with candidate.open(newline="") as stream:
            reader = csv.reader(stream)
            try:
                fields = next(reader)
            except StopIteration:
                raise RequestError(400, f"file {names[0]!r} is empty: it needs a header row") from None
            rows = [row for row in reader if row]
        return self._score(predictor, parse_request({"fields": fields, "rows": rows}, predictor.input_schema))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
