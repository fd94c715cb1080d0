"""Large score requests from bytes to typed columns through the native `byom_rows` reader.

The checked path (orjson → lists → `parse_request`) spends more than the model's own predict on
a 10,000-row request creating, transposing and converting 200,000 Python objects. `byom_rows`
reads the body once in C (two threads for large bodies, without the GIL) into a tag, a number
and a string span per cell; here numpy turns each column into exactly what `convert_column`
would have made of the same values. Whenever that is not certain (a value the column type does
not take, "3.0" for an integer, an escape in a string to be parsed as a number, malformed JSON,
rows of the wrong length) the answer is None and the caller takes the checked path, which
words the error with the field and row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from byom_ready.schema import Column
from byom_scorer.convert import _FLOAT32_MAX, Batch, Header, ScoreRequest, convert_column, parse_header, text_columns

try:
    import byom_rows
except ImportError:  # built without a C compiler: correct, only slower on large batches
    byom_rows = None
    logging.getLogger("byom_scorer").warning(
        "the native row reader (byom_rows) is not installed: large score requests take the slower "
        "pure-Python path; build it with runtime-images/native/build.py"
    )

AVAILABLE = byom_rows is not None
THREADS = max(1, min(2, int(os.environ.get("BYOM_PARSE_THREADS", "2"))))

if byom_rows is not None:
    T_INT, T_FLOAT, T_TRUE, T_FALSE, T_NULL = byom_rows.T_INT, byom_rows.T_FLOAT, byom_rows.T_TRUE, byom_rows.T_FALSE, byom_rows.T_NULL
    T_STR, T_S_INT, T_S_FLOAT, T_S_MISSING = byom_rows.T_STR, byom_rows.T_S_INT, byom_rows.T_S_FLOAT, byom_rows.T_S_MISSING
    T_S_TRUE, T_S_FALSE, T_S_ONE, T_S_ZERO = byom_rows.T_S_TRUE, byom_rows.T_S_FALSE, byom_rows.T_S_ONE, byom_rows.T_S_ZERO


def _table(*tags: int) -> np.ndarray:
    """A lookup table over the tags: table[tags] marks the cells with one of them."""
    table = np.zeros(16, dtype=np.bool_)
    table[list(tags)] = True
    return table


if byom_rows is not None:
    _STRING = _table(T_STR, T_S_INT, T_S_FLOAT, T_S_MISSING, T_S_TRUE, T_S_FALSE, T_S_ONE, T_S_ZERO)
    # The tags each column type takes; which of them carry an int64 (else a float64) number.
    _FLOAT_OK = _table(T_INT, T_FLOAT, T_NULL, T_S_INT, T_S_FLOAT, T_S_MISSING, T_S_ONE, T_S_ZERO)
    _INT_NUMBER = _table(T_INT, T_S_INT, T_S_ONE, T_S_ZERO)
    _MISSING = _table(T_NULL, T_S_MISSING)
    _INT_OK = _INT_NUMBER
    _TRUE = _table(T_TRUE, T_S_TRUE, T_S_ONE)
    _FALSE = _table(T_FALSE, T_S_FALSE, T_S_ZERO)
    _BOOL_OK = _TRUE | _FALSE | _table(T_INT)


class _Decline(Exception):
    """The checked path decides this request."""


class _Cells:
    """The parsed rows: tags, numbers and string spans as row-major numpy matrices, plus which
    tags occur in each column (most columns hold one kind of value: no masks needed then)."""

    def __init__(self, raw: bytes, rows: tuple[int, int, Any, Any, Any, Any]) -> None:
        count, width, tags, numbers, spans, kinds = rows
        self.raw = raw
        self.count = count
        self.tags = np.frombuffer(tags, dtype=np.uint8).reshape(count, width)
        self.numbers = np.frombuffer(numbers, dtype=np.int64).reshape(count, width)
        self.spans = np.frombuffer(spans, dtype=np.uint64).reshape(count, width)
        bits = np.frombuffer(kinds, dtype=np.uint16)
        self.present = ((bits[:, None] >> np.arange(16, dtype=np.uint16)) & 1).astype(np.bool_)

    def has(self, index: int, table: np.ndarray) -> bool:
        return bool((self.present[index] & table).any())

    def only(self, index: int, table: np.ndarray) -> bool:
        return not (self.present[index] & ~table).any()

    def where(self, index: int, table: np.ndarray) -> np.ndarray:
        return table[self.tags[:, index]]

    def ints(self, index: int) -> np.ndarray:
        return self.numbers[:, index]

    def floats(self, index: int) -> np.ndarray:
        return self.numbers[:, index].view(np.float64)

    def __getitem__(self, index: int) -> list[Any]:
        return self.objects(index)

    def objects(self, index: int) -> list[Any]:
        """The column's values as orjson would have decoded them."""
        if self.only(index, _STRING):
            return self._strings(np.arange(self.count), index)
        tags = self.tags[:, index]
        out: list[Any] = [None] * self.count
        makers: dict[int, Callable[[np.ndarray], list[Any]]] = {
            T_INT: lambda rows: self.ints(index)[rows].tolist(),
            T_FLOAT: lambda rows: self.floats(index)[rows].tolist(),
            T_TRUE: lambda rows: [True] * len(rows),
            T_FALSE: lambda rows: [False] * len(rows),
            T_NULL: lambda rows: [None] * len(rows),
        }
        for kind in np.flatnonzero(self.present[index]).tolist():
            rows = np.flatnonzero(tags == kind)
            values = makers[kind](rows) if kind in makers else self._strings(rows, index)
            for row, value in zip(rows.tolist(), values):
                out[row] = value
        return out

    def _strings(self, rows: np.ndarray, index: int) -> list[Any]:
        spans = np.ascontiguousarray(self.spans[rows, index])
        try:
            values = byom_rows.strings(self.raw, spans)
            for position, value in enumerate(values):
                if value is None:  # escapes: orjson decodes them
                    span = int(spans[position])
                    start, length = span >> 24, span & 0xFFFFFF
                    values[position] = orjson.loads(self.raw[start : start + length])
        except (ValueError, orjson.JSONDecodeError):  # the reader validated them: not expected
            raise _Decline from None
        return values


def _float_column(cells: _Cells, index: int, float32: bool) -> np.ndarray:
    if not cells.only(index, _FLOAT_OK):
        raise _Decline
    values = cells.floats(index).copy()
    if cells.has(index, _INT_NUMBER):
        as_int = cells.where(index, _INT_NUMBER)
        values[as_int] = cells.ints(index)[as_int].astype(np.float64)
    if cells.has(index, _MISSING):
        values[cells.where(index, _MISSING)] = np.nan
    if float32:
        if (np.abs(values[np.isfinite(values)]) > _FLOAT32_MAX).any():
            raise _Decline
        return values.astype(np.float32)
    return values


def _int_column(cells: _Cells, index: int, int32: bool) -> np.ndarray:
    if not cells.only(index, _INT_OK):
        raise _Decline
    values = cells.ints(index).copy()
    if int32:
        if len(values) and (values.min() < -(2**31) or values.max() > 2**31 - 1):
            raise _Decline
        return values.astype(np.int32)
    return values


def _bool_column(cells: _Cells, index: int) -> np.ndarray:
    if not cells.only(index, _BOOL_OK):
        raise _Decline
    true = cells.where(index, _TRUE)
    if cells.has(index, _table(T_INT)):  # JSON 0 and 1
        numbers = cells.tags[:, index] == T_INT
        ints = cells.ints(index)
        if not np.isin(ints[numbers], (0, 1)).all():
            raise _Decline
        true |= numbers & (ints == 1)
    return true


def _column(cells: _Cells, column: Column, index: int) -> np.ndarray:
    kind = column.type
    if kind in ("Float64", "Float32"):
        return _float_column(cells, index, kind == "Float32")
    if kind in ("Int64", "Int32"):
        return _int_column(cells, index, kind == "Int32")
    if kind == "Boolean":
        return _bool_column(cells, index)
    return convert_column(cells.objects(index), column, index)  # String, Time64: as the checked path


def _header(raw: bytes, members: list[tuple[int, int, int, int]], schema: list[Column]) -> Header:
    payload: dict[str, Any] = {}
    try:
        for key_start, key_end, start, end in members:
            key = orjson.loads(raw[key_start:key_end])
            if key != "rows":  # "rows" spelled with an escape: a corner left to the checked path
                payload[key] = orjson.loads(raw[start:end])
            else:
                raise _Decline
    except orjson.JSONDecodeError:
        raise _Decline from None
    payload["rows"] = []  # read natively; a list, as far as the header checks go
    return parse_header(payload, schema)


def parse_request_bytes(raw: bytes, schema: list[Column]) -> ScoreRequest | None:
    """The ScoreRequest of a JSON body, or None to send the body the checked way."""
    if byom_rows is None:
        return None
    parsed = byom_rows.parse(raw, THREADS)
    if parsed is None or parsed[1] is None:
        return None
    members, rows = parsed
    try:
        header = _header(raw, members, schema)
        cells = _Cells(raw, rows)
        if cells.count and cells.tags.shape[1] != len(header.fields):
            raise _Decline  # the checked path names the row
        if not cells.count:
            return None  # nothing to gain
        columns = [_column(cells, column, header.position[column.name]) for column in schema]
        ids, included = text_columns(header, cells, cells.count)
    except _Decline:
        return None
    return ScoreRequest(Batch(columns, schema), cells.count, ids, header.id_field, included, header.no_field_names)
