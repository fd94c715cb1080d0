"""Score requests → typed columns: the one place that owns the input rules (docs/runtimes.md).

Every body format ends here. JSON bodies are parsed by orjson; columns are converted whole with
numpy when every value already has the right JSON type (the common case), otherwise each value
goes through a checked conversion that names the field and row of the first bad value. Columnar
bodies (Arrow, Parquet, CSV, and the tensors of the Open Inference Protocol) arrive as pyarrow
arrays and follow the same rules: a typed array converts as the same JSON values would, a text
array (CSV, BYTES) as the same JSON strings would. Arrow's vectorised kernels take what they
decide exactly as the rules do; anything else goes value by value through the same checked
conversions, which word the error.
"""

from __future__ import annotations

import itertools
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import numpy as np
import orjson

from byom_ready.schema import Column
from byom_scorer.errors import bad_request

_MISSING_TEXT = frozenset(("", "na", "nan", "null", "none"))
_TRUE = frozenset(("true", "1", "yes", "y", "t"))
_FALSE = frozenset(("false", "0", "no", "n", "f"))
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT32_MAX = float(np.finfo(np.float32).max)

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


def _checked(
    values: Sequence[Any], column: Column, field_index: int, convert: Callable[[Any], Any], first_row: int | None = None
) -> list[Any]:
    """`first_row` set: a columnar batch starting at that row (errors say "row n column x")."""
    out = []
    for row, value in enumerate(values):
        try:
            out.append(convert(value))
        except _Bad as error:
            where = (
                f"rows[{row}] field {column.name!r} (position {field_index})"
                if first_row is None
                else f"row {first_row + row} column {column.name!r}"
            )
            raise bad_request(f"{where}: {value!r} is not a valid {column.type}: {error}") from None
    return out


def _converter(column: Column) -> Callable[[Any], Any]:
    kind = column.type
    if kind in ("Float64", "Float32"):
        limit = _FLOAT32_MAX if kind == "Float32" else None
        return lambda v: _to_float(v, limit)
    if kind in ("Int64", "Int32"):
        bounds = _INT64 if kind == "Int64" else _INT32
        return lambda v: _to_int(v, bounds)
    return {"Boolean": _to_bool, "String": _to_str, "Time64": _to_time}[kind]


def convert_column(values: Sequence[Any], column: Column, field_index: int) -> np.ndarray:
    """A JSON column (the values of one field, in row order) → its typed column, or 400 naming the
    first bad value. Whole columns go through Arrow when it decides them as the rules do
    (_bulk_column); anything else, and every error, goes value by value (checked_column)."""
    fast = _bulk_column(values, column.type) if len(values) >= _BULK_ROWS else None
    return fast if fast is not None else checked_column(values, column, field_index)


# Below this many values, Arrow's per-call cost outweighs what it saves over the plain loop.
_BULK_ROWS = 64


def checked_column(values: Sequence[Any], column: Column, field_index: int) -> np.ndarray:
    """The rules themselves, value by value: the reference the bulk conversions are tested against."""
    converted = _checked(values, column, field_index, _converter(column))
    if column.type == "String":
        out = np.empty(len(converted), dtype=object)
        out[:] = converted
        return out
    return np.array(converted, dtype=NUMPY_DTYPES[column.type])


def _bulk_column(values: Sequence[Any], kind: str) -> np.ndarray | None:
    """One pass of pyarrow's C conversion over the Python values (their types inferred), then the
    rules on the typed array; None (the checked path decides) for anything it does not decide
    exactly as the rules do. Text (H2O clients send every value as a string) goes through the
    same vectorised text rules as CSV cells (_arrow_text)."""
    if kind == "String":
        if set(map(type, values)) <= {str}:
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out
        return None
    if kind == "Time64" or not values:
        return None
    import pyarrow as pa

    try:
        array = pa.array(values)
    except (ValueError, TypeError, OverflowError, pa.ArrowException):
        return None  # mixed types (e.g. a boolean among integers), integers beyond 64 bits, ...
    typ = array.type
    if pa.types.is_string(typ):
        return _arrow_text(array, kind)
    if kind in ("Float64", "Float32"):
        if pa.types.is_null(typ):
            return _float_kind(np.full(len(values), np.nan), kind)
        if pa.types.is_integer(typ):  # rounded to the nearest double, as float(int) is
            return _float_kind(array.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), kind)
        if not pa.types.is_floating(typ):
            return None
        numbers = array.to_numpy(zero_copy_only=False)  # None -> NaN, as the rules say
        # Inference takes a boolean among floats as 1.0/0.0; the rules refuse it. Only cells that
        # read exactly 0 or 1 can be one: those few are looked at.
        for index in np.flatnonzero((numbers == 0) | (numbers == 1)).tolist():
            if type(values[index]) is bool:
                return None
        return _float_kind(numbers, kind)
    if array.null_count:
        return None  # a missing integer or boolean: the checked path words it
    if kind in ("Int64", "Int32"):
        if not pa.types.is_integer(typ):
            return None  # e.g. 3.0 (taken) or 1.5 (refused): value by value
        return _arrow_cast(array, arrow_type(kind))
    if pa.types.is_boolean(typ):
        return array.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(typ):
        numbers = array.to_numpy(zero_copy_only=False)
        return numbers.astype(np.bool_) if np.isin(numbers, (0, 1)).all() else None
    return None


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


def parse_json(body: bytes) -> Any:
    """A JSON body, or 400 naming the syntax error (the client's, not a media type problem)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"the body is not valid JSON: {error}") from None


def parse_request(body: Any, schema: list[Column]) -> ScoreRequest:
    header = parse_header(body, schema)
    rows = body["rows"]
    position = header.position
    width = len(header.fields)
    if not (set(map(type, rows)) <= {list} and set(map(len, rows)) <= {width}):  # in C; the loop words it
        for row_index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                size = len(row) if isinstance(row, list) else "not a list"
                raise bad_request(f"rows[{row_index}] has {size} values; fields has {width}")
    kinds = _numeric_kinds(schema) if 0 < len(rows) <= _SMALL_BATCH else None
    matrix = _small_numeric_matrix(rows, [position[c.name] for c in schema], kinds) if kinds else None
    if matrix is not None and header.id_field is None and not header.include:
        return ScoreRequest(Batch(None, schema, matrix), len(rows), None, None, [], header.no_field_names)
    # Columns as strided slices of the values laid end to end: two C loops, a third of the cost
    # of zip(*rows), which builds a tuple per column through an iterator per row.
    values = list(itertools.chain.from_iterable(rows))
    by_position = [values[index::width] for index in range(width)] if rows else [[] for _ in header.fields]
    columns = Batch([convert_column(by_position[position[c.name]], c, position[c.name]) for c in schema], schema, matrix)
    ids, included = text_columns(header, by_position, len(rows))
    return ScoreRequest(columns, len(rows), ids, header.id_field, included, header.no_field_names)


# Bodies from this size on, with a schema of numbers and booleans, are first tried by parse_numeric_json.
NUMERIC_JSON_MIN_BYTES = 64 * 1024
# Int64 values a double holds exactly and could not have reached by rounding.
_INT_LIMITS = {"i": (-(2**31), 2**31 - 1), "l": (1 - _EXACT_IN_FLOAT64, _EXACT_IN_FLOAT64 - 1)}
# The parser and the rewritten body's buffer are kept per thread for bodies up to this size
# (their memory stays allocated: simdjson's tape takes ~16 bytes per number).
_KEPT_BYTES = 8 * 1024**2
# JSON's true and false rewritten as numbers of the same length, so that the rows are numbers only.
_BOOLEAN_SPELLINGS = ((b"true", b"7e77"), (b"false", b"-7e77"))
_BOOLEAN_NUMBER = 7e77


def _booleans_as_numbers(data: np.ndarray) -> tuple[np.ndarray | None, int]:
    """The body's bytes with every `true` written `7e77` and every `false` `-7e77` (inside strings
    too: parse_numeric_json looks for them there), or None when it has neither; and how many.
    Both words end in "e": one scan for it, then the few bytes before each."""
    ends = np.flatnonzero(data[4:] == ord("e")) + 4
    starts = []
    for word, _ in _BOOLEAN_SPELLINGS:
        found = ends
        for back in range(1, len(word)):
            found = found[data[found - back] == word[-1 - back]]
        starts.append(found - (len(word) - 1))
    count = sum(found.size for found in starts)
    if not count:
        return None, 0
    if data.size > _KEPT_BYTES:
        out = data.copy()
    else:
        # A buffer kept per thread, as the parser is: a fresh copy per request page-faults.
        scratch = getattr(_PARSERS, "scratch", None)
        if scratch is None or scratch.size < data.size:
            scratch = _PARSERS.scratch = np.empty(_KEPT_BYTES, dtype=np.uint8)
        out = scratch[: data.size]
        out[:] = data
    for (_, number), found in zip(_BOOLEAN_SPELLINGS, starts):
        for offset, byte in enumerate(number):
            out[found + offset] = byte
    return out, count


_PARSERS = threading.local()


class _NotPlain(Exception):
    pass


def _header_value(value: Any, found: list[int]) -> Any:
    """A header value of the rewritten body as the original had it: ±7e77 back to true/false
    (counted in found[0]); a string that now holds 7e77 held "true" or "false": not plain."""
    import simdjson

    if isinstance(value, simdjson.Array):
        return [_header_value(item, found) for item in value]
    if isinstance(value, simdjson.Object):
        return {key: _header_value(value[key], found) for key in value.keys()}
    if isinstance(value, float) and abs(value) == _BOOLEAN_NUMBER:
        found[0] += 1
        return value > 0
    if isinstance(value, str) and "7e77" in value:
        raise _NotPlain
    return value


def parse_numeric_json(body: bytes, schema: list[Column]) -> ScoreRequest | None:
    """A large JSON body whose rows hold only JSON numbers and booleans, for a schema of Float, Int
    and Boolean columns, read by simdjson straight into the float64 matrix (no Python object per
    value): the same request parse_request makes of it, or None when anything is not that plain
    case (missing values, strings, nesting, ragged rows, a boolean in a number column or a number
    in a Boolean one, idField or includeFieldsInOutput, integers a double cannot hold exactly, a
    Float32 overflow, a backslash anywhere, invalid JSON, simdjson not installed): the orjson path
    then decides, and words any error. The header goes through parse_header, as there."""
    kinds = _numeric_kinds(schema)
    if kinds is None or b"\\" in body:  # no escapes: each "[" and "true" of a string is literal
        return None
    # Cheap signs, in the first 64 KiB, that the rows are not plain numbers (H2O clients send every
    # value as text; a missing value is null): the orjson path at once, not after a parse thrown away.
    if body.count(b'"', 0, 65536) > 4 * len(schema) + 64 or body.find(b"null", 0, 65536) >= 0:
        return None
    try:
        import simdjson
    except ImportError:  # a runtime family without it (legacy-runtime)
        return None
    data = np.frombuffer(body, dtype=np.uint8)
    rewritten, booleans = _booleans_as_numbers(data) if "b" in kinds else (None, 0)
    # One parser per thread, kept for bodies up to _KEPT_BYTES: its buffers stay allocated from
    # one request to the next (a larger body gets a parser of its own, freed with it).
    kept = len(body) <= _KEPT_BYTES
    parser = (getattr(_PARSERS, "parser", None) if kept else None) or simdjson.Parser()
    if kept:
        _PARSERS.parser = parser
    try:
        doc = parser.parse(body if rewritten is None else rewritten)
    except ValueError:
        return None
    except RuntimeError:  # a document of this parser is still referenced somewhere: a new one next time
        _PARSERS.parser = None
        return None
    rows = None
    try:
        if not isinstance(doc, simdjson.Object):
            return None
        keys = list(doc.keys())
        rows = doc["rows"] if "rows" in keys else None
        if len(set(keys)) != len(keys) or not isinstance(rows, simdjson.Array):
            return None
        plain: dict[str, Any] = {"rows": []}
        in_header = [0]
        try:
            for key in keys:
                if key != "rows":
                    plain[key] = _header_value(doc[key], in_header)
        except _NotPlain:
            return None
        header = parse_header(plain, schema)
        if header.id_field is not None or header.include:
            return None
        width = len(header.fields)
        count = len(rows)
        # Every row an array of `width` values, and no array deeper than the rows (each "[" of
        # the body is the header's own, the rows' or a row's): as_buffer would flatten nesting.
        array = simdjson.Array
        if not all(type(row) is array and len(row) == width for row in rows):
            return None
        if np.count_nonzero(data == ord("[")) != orjson.dumps(plain).count(b"[") + count:
            return None
        try:
            flat = np.frombuffer(rows.as_buffer(of_type="d"), dtype=np.float64)
        except (TypeError, ValueError):  # null, a string, a number beyond the double range
            return None
    finally:
        doc = rows = None  # the parser can be used again once nothing refers to its document
    if flat.size != count * width:
        return None
    # Every ±7e77 left must be one of the rewritten booleans: a number that reads as 7e77 (7e77,
    # 7E+77, ...) or a boolean inside a string would make the counts differ.
    if booleans and in_header[0] + np.count_nonzero(np.abs(flat) == _BOOLEAN_NUMBER) != booleans:
        return None
    order = [header.position[c.name] for c in schema]
    matrix = flat.reshape(count, width)
    if order != list(range(width)):
        matrix = matrix[:, order]
    for index, kind in enumerate(kinds):
        column = matrix[:, index]
        if kind == "b":
            if not (np.abs(column) == _BOOLEAN_NUMBER).all():
                return None  # a number (0 and 1 are booleans by the rules): the orjson path decides
            matrix[:, index] = column > 0
        elif kind in _INT_LIMITS:
            low, high = _INT_LIMITS[kind]
            if count and not ((column >= low).all() and (column <= high).all() and (np.floor(column) == column).all()):
                return None  # a fraction, or beyond the column's range or a double's exact integers
        elif kind == "g":
            if count and (np.abs(column) > _FLOAT32_MAX).any():
                return None
            matrix[:, index] = column.astype(np.float32)
        elif booleans and (np.abs(column) == _BOOLEAN_NUMBER).any():
            return None  # a boolean in a Float64 column: the orjson path refuses it
    return ScoreRequest(Batch(None, schema, matrix), count, None, None, [], header.no_field_names)


# ---- columnar values (pyarrow arrays) ---------------------------------------------------------

_ARROW_TYPES = {
    "Float64": "float64", "Float32": "float32", "Int64": "int64", "Int32": "int32", "Boolean": "bool_",
    "String": "string", "Time64": "timestamp",
}


def arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return pa.timestamp("ns") if kind == "Time64" else getattr(pa, _ARROW_TYPES[kind])()


def check_columnar_fields(names: list[str], schema: list[Column]) -> dict[str, int]:
    """Columnar bodies name their columns once: the JSON rules for fields, on the column names."""
    position: dict[str, int] = {}
    known = {column.name for column in schema}
    for index, name in enumerate(names):
        if name in position:
            raise bad_request(f"column {name!r} appears twice (positions {position[name]} and {index})")
        if name not in known:
            raise bad_request(f"unknown column {name!r} at position {index}: the model's fields are {sorted(known)}")
        position[name] = index
    for column in schema:
        if column.name not in position:
            raise bad_request(f"missing required column {column.name!r} ({column.type})")
    return position


def convert_arrow(array: Any, column: Column, first_row: int) -> np.ndarray:
    """A pyarrow array → the column the same values sent as JSON would give (text as JSON text)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = column.type
    typ = array.type
    fast: np.ndarray | None = None
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        fast = _arrow_text(array, kind)
    elif pa.types.is_dictionary(typ):
        return convert_arrow(array.dictionary_decode(), column, first_row)
    elif kind in ("Float64", "Float32") and (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
        fast = _arrow_float(array, kind)
    elif kind in ("Int64", "Int32") and pa.types.is_integer(typ) and array.null_count == 0:
        fast = _arrow_cast(array, arrow_type(kind))
    elif kind in ("Int64", "Int32") and pa.types.is_floating(typ) and array.null_count == 0:
        fast = _arrow_cast(array, arrow_type(kind))  # safe: refuses a fractional part or overflow
    elif kind == "Boolean" and pa.types.is_boolean(typ) and array.null_count == 0:
        fast = array.to_numpy(zero_copy_only=False).astype(np.bool_, copy=False)
    elif kind == "Boolean" and pa.types.is_integer(typ) and array.null_count == 0:
        values = array.to_numpy(zero_copy_only=False)
        fast = values.astype(np.bool_) if np.isin(values, (0, 1)).all() else None
    elif kind == "Time64" and pa.types.is_timestamp(typ):
        if typ.tz is not None:
            array = array.cast(pa.timestamp(typ.unit, tz="UTC"))
        fast = array.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    if fast is not None:
        return fast
    values = array.to_pylist()
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        values = [_utf8(v, column, first_row + row) for row, v in enumerate(values)]
    return convert_values(values, column, first_row)


def convert_values(values: list[Any], column: Column, first_row: int) -> np.ndarray:
    """Values as JSON would give them (V2 JSON tensors, columnar values Arrow's kernels left):
    in bulk where Arrow decides them as the rules do, else one by one; errors say "row n column x"."""
    if len(values) >= _BULK_ROWS:
        fast = _bulk_column(values, column.type)
        if fast is not None:
            return fast
    kind = column.type
    converted = _checked(values, column, -1, _converter(column), first_row)
    if kind == "String":
        out = np.empty(len(converted), dtype=object)
        out[:] = converted
        return out
    return np.array(converted, dtype=NUMPY_DTYPES[kind])


def _utf8(value: Any, column: Column, row: int) -> Any:
    if value is None or isinstance(value, str):
        return value
    try:
        return bytes(value).decode()
    except UnicodeDecodeError:
        raise bad_request(f"row {row} column {column.name!r}: the bytes are not UTF-8 text") from None


def _arrow_cast(array: Any, target: Any) -> np.ndarray | None:
    import pyarrow as pa

    try:
        return array.cast(target, safe=True).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # the checked path words it


def _arrow_float(array: Any, kind: str) -> np.ndarray | None:
    import pyarrow as pa

    # Unchecked: a large integer rounds to the nearest double, as Python's float(int) does.
    values = array.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)  # nulls -> NaN
    if kind == "Float32":
        if (np.abs(values[np.isfinite(values)]) > _FLOAT32_MAX).any():
            return None
        return values.astype(np.float32)
    return values


_MISSING_LIST = sorted(_MISSING_TEXT)


def _arrow_text(array: Any, kind: str) -> np.ndarray | None:
    """Text (CSV cells, BYTES tensors) by the JSON text rules, when Arrow decides them exactly:
    numbers in decimal notation and the listed words. Anything else returns None and goes value
    by value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "String":
        out = array.to_numpy(zero_copy_only=False)
        return out.astype(object, copy=False)
    if kind == "Time64":
        return None
    if array.null_count:
        return None
    if kind == "Boolean":
        return _arrow_words(array)
    # Arrow reads decimal notation as Python does (correctly rounded), but takes more than the
    # rules do (`0x10`, `nan(1)`): only plain decimal text goes its way, the rest value by value.
    # The differential tests (tests/test_formats.py) hold it to that. A byte check of the whole
    # column is much cheaper than a regex per cell: text made only of digits, signs, `.` and
    # `e`/`E` that Arrow reads is plain decimal notation (what it refuses goes the regex way).
    if kind.startswith("Int"):
        if not _only_bytes(array, _INTEGER_BYTES) and not pc.all(
            pc.match_substring_regex(array, r"^[+-]?[0-9]+$")
        ).as_py():
            return None
        return _arrow_cast(array, arrow_type(kind))
    if _only_bytes(array, _DECIMAL_BYTES):
        try:
            return _float_kind(array.cast(pa.float64()).to_numpy(zero_copy_only=False), kind)
        except pa.ArrowInvalid:
            pass  # e.g. `1e` or `1.2.3`: the regex below decides
    plain = pc.match_substring_regex(array, r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
    numbers = array
    if not pc.all(plain).as_py():
        missing = pc.is_in(pc.utf8_lower(array), value_set=pa.array(_MISSING_LIST))
        if not pc.all(pc.or_(plain, missing)).as_py():
            return None
        numbers = pc.if_else(missing, pa.scalar(None, pa.string()), array)  # missing words: NaN
    try:
        values = numbers.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return None  # e.g. beyond the double range: Python says inf, Arrow refuses
    return _float_kind(values, kind)


def _float_kind(values: np.ndarray, kind: str) -> np.ndarray | None:
    if kind == "Float32":
        if (np.abs(values[np.isfinite(values)]) > _FLOAT32_MAX).any():
            return None
        return values.astype(np.float32)
    return values


def _byte_set(characters: bytes) -> np.ndarray:
    allowed = np.zeros(256, dtype=np.bool_)
    allowed[list(characters)] = True
    return allowed


_INTEGER_BYTES = _byte_set(b"0123456789+-")
_DECIMAL_BYTES = _byte_set(b"0123456789+-.eE")
_FEW_WORDS = 64


def _only_bytes(array: Any, allowed: np.ndarray) -> bool:
    """Whether every cell of a string array (no nulls) is non-empty and made of `allowed` bytes."""
    import pyarrow as pa

    if len(array) == 0:
        return True
    _, offsets, data = array.buffers()[:3]
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    ends = np.frombuffer(offsets, dtype=width, count=len(array) + 1, offset=array.offset * np.dtype(width).itemsize)
    if data is None or (ends[1:] == ends[:-1]).any():
        return False  # an empty cell is a missing word
    return bool(allowed[np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[-1]]].all())


def _arrow_words(array: Any) -> np.ndarray | None:
    """A boolean text column: its few distinct words go through the rule itself, then every cell
    takes its word's value; anything else (a bad word, too many words) goes value by value."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(array)
    words = encoded.dictionary.to_pylist()
    if len(words) > _FEW_WORDS:
        return None
    try:
        values = np.array([_to_bool(word) for word in words], dtype=np.bool_)
    except _Bad:
        return None
    return values[encoded.indices.to_numpy(zero_copy_only=False)]


# ---- typed reading: Arrow's CSV reader decides the cells the rules and it read alike ------------
#
# Text to typed columns is the cost of a large CSV body. Arrow's CSV reader parses numbers
# and booleans straight into typed arrays; told the rules' words (every spelling of the missing,
# true and false words), it reads a cell exactly as the rules do, or refuses it. Two spellings
# Arrow takes and the rules refuse are kept from it by the callers: `nan(…)` (a NaN) and `0x…`
# (a hexadecimal integer). Whatever Arrow refuses, and anything whose error the text path words
# (a missing integer or boolean, a Float32 beyond its range), goes the text way instead: the
# typed reading only ever takes the answers the rules give, never gives one of its own.
# tests/test_formats.py holds the two readings to the same columns, bit for bit.

_TYPED_READING = {"Float64": "float64", "Float32": "float64", "Int64": "int64", "Int32": "int32", "Boolean": "bool_"}


def _spellings(words: frozenset[str]) -> list[str]:
    """Every upper/lower-case spelling of the words (Arrow matches exactly; the rules ignore case)."""
    out: set[str] = set()
    for word in words:
        out.update("".join(letters) for letters in itertools.product(*({c.lower(), c.upper()} for c in word)))
    return sorted(out)


MISSING_SPELLINGS = _spellings(_MISSING_TEXT)
TRUE_SPELLINGS = _spellings(_TRUE)
FALSE_SPELLINGS = _spellings(_FALSE)


def typed_reading(schema: list[Column]) -> dict[str, Any] | None:
    """Arrow's CSV reader column types for the schema: numbers and booleans typed (Float32 as
    float64: the rules read text as a double first), String and Time64 as text. None when no
    column is typed."""
    import pyarrow as pa

    if not any(c.type in _TYPED_READING for c in schema):
        return None
    return {c.name: getattr(pa, _TYPED_READING.get(c.type, "string"))() for c in schema}


def typed_convert_options(types: dict[str, Any]) -> Any:
    """Arrow's CSV conversion with the rules' words: missing, true and false in every spelling."""
    import pyarrow.csv as pacsv

    return pacsv.ConvertOptions(
        column_types=types,
        null_values=MISSING_SPELLINGS,
        true_values=TRUE_SPELLINGS,
        false_values=FALSE_SPELLINGS,
        strings_can_be_null=False,  # String columns: an empty cell is "", as in the text path
    )


def typed_batch_ok(columns: Sequence[Any], schema: list[Column]) -> bool:
    """Whether typed arrays (in schema order) convert by Arrow's kernels alone (convert_arrow's
    typed cases): no missing integer or boolean, no Float32 beyond its range. Otherwise the text
    path decides, and words the error."""
    for array, column in zip(columns, schema, strict=True):
        kind = column.type
        if kind not in _TYPED_READING:
            continue
        if kind in ("Int64", "Int32", "Boolean") and array.null_count:
            return False
        if kind == "Float32" and len(array):
            import pyarrow.compute as pc

            largest = pc.max(pc.abs(pc.if_else(pc.is_finite(array), array, 0.0))).as_py()
            if largest is not None and largest > _FLOAT32_MAX:
                return False
    return True
