"""Score requests → typed columns, following the input rules of DESIGN §4.

Columns are converted whole with numpy when every value already has the right JSON type (the
common case, and the only one that matters for speed); otherwise each value goes through a
checked conversion that names the field and row of the first bad value.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np

from byom_ready.schema import Column
from byom_scorer.errors import bad_request

_MISSING_TEXT = frozenset(("", "na", "nan", "null", "none"))
_TRUE = frozenset(("true", "1", "yes", "y", "t"))
_FALSE = frozenset(("false", "0", "no", "n", "f"))
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT_TYPES = frozenset((float, int))
_INT_TYPES = frozenset((int,))

NUMPY_DTYPES = {
    "Boolean": np.bool_,
    "Float32": np.float32,
    "Float64": np.float64,
    "Int32": np.int32,
    "Int64": np.int64,
    "String": object,
    "Time64": "datetime64[ns]",
}


class _Bad(ValueError):
    pass


def _to_float(value: Any, limit: float | None) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise _Bad("a boolean is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        if value.strip().lower() in _MISSING_TEXT:
            return math.nan
        try:
            number = float(value)
        except ValueError as error:
            raise _Bad("not a number") from error
    else:
        raise _Bad(f"a {type(value).__name__} is not a number")
    if limit is not None and math.isfinite(number) and abs(number) > limit:
        raise _Bad("out of the Float32 range")
    return number


def _to_int(value: Any, bounds: tuple[int, int]) -> int:
    if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING_TEXT):
        raise _Bad("missing: integer columns have no missing value, send a number")
    if isinstance(value, bool):
        raise _Bad("a boolean is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise _Bad("has a fractional part")
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            try:
                as_float = float(value)
            except ValueError as error:
                raise _Bad("not an integer") from error
            if not as_float.is_integer():
                raise _Bad("has a fractional part") from None
            number = int(as_float)
    else:
        raise _Bad(f"a {type(value).__name__} is not an integer")
    if not bounds[0] <= number <= bounds[1]:
        raise _Bad("out of range")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Bad("not a boolean (true/false)")


def _to_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise _Bad(f"a {type(value).__name__} is not a string")


def _to_time(value: Any) -> np.datetime64:
    if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING_TEXT):
        return np.datetime64("NaT", "ns")
    if not isinstance(value, str):
        raise _Bad("a time must be an ISO 8601 / RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise _Bad("not an ISO 8601 / RFC 3339 time") from error
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(parsed, "ns")


def _checked(values: Sequence[Any], column: Column, field_index: int, convert: Callable[[Any], Any]) -> list[Any]:
    out = []
    for row, value in enumerate(values):
        try:
            out.append(convert(value))
        except _Bad as error:
            raise bad_request(
                f"rows[{row}] field {column.name!r} (position {field_index}): {value!r} is not a valid "
                f"{column.type}: {error}"
            ) from None
    return out


def convert_column(values: Sequence[Any], column: Column, field_index: int) -> np.ndarray:
    kind = column.type
    types = set(map(type, values))
    if kind in ("Float64", "Float32"):
        dtype = np.float64 if kind == "Float64" else np.float32
        if types <= _FLOAT_TYPES:
            array = np.array(values, dtype=np.float64)
            if kind == "Float64" or not (np.abs(array[np.isfinite(array)]) > _FLOAT32_MAX).any():
                return array.astype(dtype, copy=False)
        limit = _FLOAT32_MAX if kind == "Float32" else None
        return np.array(_checked(values, column, field_index, lambda v: _to_float(v, limit)), dtype=dtype)
    if kind in ("Int64", "Int32"):
        bounds = _INT64 if kind == "Int64" else _INT32
        dtype = np.int64 if kind == "Int64" else np.int32
        if types <= _INT_TYPES:
            try:
                array = np.array(values, dtype=np.int64)
            except OverflowError:
                array = None
            if array is not None and (kind == "Int64" or (array.min() >= bounds[0] and array.max() <= bounds[1])):
                return array.astype(dtype, copy=False)
        return np.array(_checked(values, column, field_index, lambda v: _to_int(v, bounds)), dtype=dtype)
    if kind == "Boolean":
        if types == {bool}:
            return np.array(values, dtype=np.bool_)
        return np.array(_checked(values, column, field_index, _to_bool), dtype=np.bool_)
    if kind == "String":
        if not types <= {str}:
            values = _checked(values, column, field_index, _to_str)
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    return np.array(_checked(values, column, field_index, _to_time), dtype="datetime64[ns]")


class Batch(Sequence[np.ndarray]):
    """Typed input columns in schema order; small all-numeric requests arrive as a float64 matrix
    already (what the numpy fast path feeds the model) and get typed columns only when asked."""

    __slots__ = ("_columns", "_schema", "matrix")

    def __init__(self, columns: list[np.ndarray] | None, schema: list[Column], matrix: np.ndarray | None = None) -> None:
        self._columns = columns
        self._schema = schema
        self.matrix = matrix

    def _typed(self) -> list[np.ndarray]:
        if self._columns is None:
            assert self.matrix is not None
            self._columns = [
                self.matrix[:, index].astype(NUMPY_DTYPES[column.type]) for index, column in enumerate(self._schema)
            ]
        return self._columns

    def __len__(self) -> int:
        return len(self._schema)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self._typed()[index]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._typed())


_SMALL_BATCH = 32
_EXACT_IN_FLOAT64 = 2**53


def _numeric_kinds(schema: list[Column]) -> list[str] | None:
    kinds = {"Float64": "f", "Float32": "g", "Int64": "l", "Int32": "i", "Boolean": "b"}
    out = [kinds.get(column.type) for column in schema]
    return None if None in out else out  # type: ignore[return-value]


def _small_numeric_matrix(rows: list[list[Any]], order: list[int], kinds: list[str]) -> np.ndarray | None:
    """The float64 matrix of a few rows whose values already have their column's JSON type, with
    the same values the column-wise conversion gives; None sends the request the checked way."""
    float_types = (float, int)
    for row in rows:
        for position, kind in zip(order, kinds):
            value = row[position]
            kind_of = type(value)
            if kind == "b":
                if kind_of is not bool:
                    return None
            elif kind_of is bool or kind_of not in float_types:
                return None
            elif kind in "li":
                if kind_of is not int:
                    return None
                limit = _EXACT_IN_FLOAT64 if kind == "l" else 2**31
                if not (-limit <= value < limit):
                    return None
            elif kind == "g" and kind_of is float and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
                return None
    matrix = np.array([[row[position] for position in order] for row in rows], dtype=np.float64)
    for index, kind in enumerate(kinds):
        if kind == "g":
            matrix[:, index] = matrix[:, index].astype(np.float32)
    return matrix


@dataclass
class ScoreRequest:
    columns: Batch  # in input-schema order
    row_count: int
    ids: list[str] | None
    id_field: str | None
    included: list[tuple[str, list[Any]]]
    no_field_names: bool


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Header:
    """Everything of a score request but its rows, checked against the schema."""

    fields: list[str]
    position: dict[str, int]  # field name -> position in each row
    id_field: str | None
    include: list[str]
    no_field_names: bool


def parse_header(body: Any, schema: list[Column]) -> Header:
    if not isinstance(body, dict):
        raise bad_request('the request must be a JSON object {"fields": [...], "rows": [[...]]}')
    fields = body.get("fields")
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise bad_request('"fields" must be a list of field names')
    if not isinstance(body.get("rows"), list):
        raise bad_request('"rows" must be a list of rows, each a list of values')
    id_field = body.get("idField")
    if id_field is not None and not isinstance(id_field, str):
        raise bad_request('"idField" must be a field name')
    include = body.get("includeFieldsInOutput") or []
    if not isinstance(include, list) or not all(isinstance(name, str) for name in include):
        raise bad_request('"includeFieldsInOutput" must be a list of field names')
    no_field_names = body.get("noFieldNamesInOutput", False)
    if not isinstance(no_field_names, bool):
        raise bad_request('"noFieldNamesInOutput" must be true or false')

    position: dict[str, int] = {}
    known = {column.name for column in schema}
    for index, name in enumerate(fields):
        if name in position:
            raise bad_request(f"field {name!r} appears twice in fields (positions {position[name]} and {index})")
        if name not in known and name != id_field:
            raise bad_request(f"unknown field {name!r} at position {index}: the model's fields are {sorted(known)}")
        position[name] = index
    for column in schema:
        if column.name not in position:
            raise bad_request(f"missing required field {column.name!r} ({column.type})")
    for name in include:
        if name not in position:
            raise bad_request(f"includeFieldsInOutput names {name!r}, which is not in fields")
    return Header(fields, position, id_field, include, no_field_names)


class ByPosition(Protocol):
    """A request's values, column by column, indexed by the field's position in the rows."""

    def __getitem__(self, index: int) -> Sequence[Any]: ...


def text_columns(header: Header, by_position: ByPosition, row_count: int) -> tuple[list[str] | None, list[tuple[str, list[Any]]]]:
    """The id column (given or generated) and the columns echoed by includeFieldsInOutput, as text."""
    position, id_field = header.position, header.id_field
    ids: list[str] | None = None
    if id_field is not None:
        ids = (
            [_as_text(v) for v in by_position[position[id_field]]]
            if id_field in position
            else [str(uuid.uuid4()) for _ in range(row_count)]
        )
    included = [(name, [_as_text(v) for v in by_position[position[name]]]) for name in header.include if name != id_field]
    return ids, included


def parse_request(body: Any, schema: list[Column]) -> ScoreRequest:
    header = parse_header(body, schema)
    rows = body["rows"]
    position = header.position
    width = len(header.fields)
    for row_index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            size = len(row) if isinstance(row, list) else "not a list"
            raise bad_request(f"rows[{row_index}] has {size} values; fields has {width}")
    kinds = _numeric_kinds(schema) if 0 < len(rows) <= _SMALL_BATCH else None
    matrix = _small_numeric_matrix(rows, [position[c.name] for c in schema], kinds) if kinds else None
    if matrix is not None and header.id_field is None and not header.include:
        return ScoreRequest(Batch(None, schema, matrix), len(rows), None, None, [], header.no_field_names)
    transposed = list(zip(*rows)) if rows else [() for _ in header.fields]
    columns = Batch([convert_column(transposed[position[c.name]], c, position[c.name]) for c in schema], schema, matrix)
    ids, included = text_columns(header, transposed, len(rows))
    return ScoreRequest(columns, len(rows), ids, header.id_field, included, header.no_field_names)
