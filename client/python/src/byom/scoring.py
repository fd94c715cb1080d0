"""Scoring a deployment through the scorer API (`POST <endpointUrl>/model/score`).

Rows go out as JSON `{"fields", "rows"}` with typed JSON values; the scorer answers every value as
a string, so answers are turned back into the types `GET /model/schema` declares (Bool, Int32,
Int64, Float32, Float64, Str, Time64). Large inputs are sent in batches; a batch the scorer finds
too large (413) is split in two and retried.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import httpx

from byom._transport import api_error
from byom.errors import ApiError, ConnectionFailed

DEFAULT_BATCH_ROWS = 10_000


class Scorer:
    def __init__(self, http: httpx.Client, endpoint_url: str, passphrase: str | None) -> None:
        self.http = http
        self.base = endpoint_url.rstrip("/")
        self.passphrase = passphrase

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.passphrase}"} if self.passphrase else {}

    def get(self, path: str) -> Any:
        response = self._send("GET", path)
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def _send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        url = f"{self.base}{path}"
        try:
            response = self.http.request(method, url, json=body, headers=self._headers(), timeout=300.0)
        except httpx.HTTPError as error:
            raise ConnectionFailed(f"Cannot reach the deployment at {url} ({error}). Is it HEALTHY?") from error
        if response.status_code >= 400:
            error = api_error(response, f"{method} {path}")
            if response.status_code == 401:
                error.message += " This deployment needs its passphrase: pass passphrase=... or set BYOM_PASSPHRASE."
            raise error
        return response

    def score_rows(self, fields: Sequence[str], rows: Sequence[Sequence[Any]], include: Sequence[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"fields": list(fields), "rows": [list(r) for r in rows]}
        if include:
            body["includeFieldsInOutput"] = list(include)
        return self._send("POST", "/model/score", body).json()

    def score_batched(
        self, fields: Sequence[str], rows: Sequence[Sequence[Any]], batch_rows: int, include: Sequence[str] | None = None
    ) -> tuple[list[str], list[list[str]]]:
        """Scores `rows` `batch_rows` at a time; returns the answer's fields and every score row, in order."""
        out_fields: list[str] = []
        scores: list[list[str]] = []
        start = 0
        size = max(1, batch_rows)
        while start < len(rows):
            chunk = rows[start : start + size]
            try:
                answer = self.score_rows(fields, chunk, include)
            except ApiError as error:
                if error.status == 413 and len(chunk) > 1:
                    size = max(1, len(chunk) // 2)
                    continue
                raise
            out_fields = answer["fields"]
            scores.extend(answer["score"])
            start += len(chunk)
        return out_fields, scores


def json_cell(value: Any) -> Any:
    """A cell as JSON the scorer takes: numpy scalars unwrapped, NaN/NaT as null, times as ISO text."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


#: The scorer's dataType -> pandas dtype of the answer column.
PANDAS_DTYPES = {
    "Bool": "boolean",
    "Int32": "Int32",
    "Int64": "Int64",
    "Float32": "float32",
    "Float64": "float64",
    "Str": "string",
}


def typed_frame(fields: list[str], rows: list[list[str]], types: dict[str, str], index: Any = None) -> Any:
    """The scorer's string answer as a DataFrame whose columns have the schema's types."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=fields, index=index)
    for column in fields:
        kind = types.get(column)
        if kind is None:
            continue
        values = frame[column].replace({"": None, "null": None, "None": None, "NaN": None, "nan": None})
        if kind == "Time64":
            frame[column] = pd.to_datetime(values, utc=True, errors="raise")
        elif kind == "Bool":
            frame[column] = values.map(lambda v: None if v is None else str(v).lower() in ("true", "1")).astype("boolean")
        elif kind in ("Int32", "Int64"):
            frame[column] = pd.to_numeric(values).round().astype(PANDAS_DTYPES[kind])
        elif kind in ("Float32", "Float64"):
            frame[column] = pd.to_numeric(values).astype(PANDAS_DTYPES[kind])
        else:
            frame[column] = values.astype("string")
    return frame
