"""Typed experiment metadata: Python values <-> the API's value objects.

The API stores each value as exactly one of string_value, int64_value (a decimal string on the
wire), double_value, bool_value, json_value (any JSON) or timestamp_value (RFC 3339). Here bool,
int, float, str, datetime and dict/list map onto them and back; `Json(...)` forces json_value for a
value that would otherwise be a string or number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from byom._api import MetadataValue, MetadataValueInput

#: Column types of a model schema, canonical spelling (the API takes any case).
SCHEMA_TYPES = ("Boolean", "Time64", "Float32", "Float64", "Int32", "Int64", "String")


@dataclass(frozen=True)
class Json:
    """Store `value` as json_value even when it is a plain string or number."""

    value: Any


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def to_value(value: Any) -> MetadataValueInput:
    if isinstance(value, Json):
        return {"json_value": value.value}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int64_value": str(value)}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return {"timestamp_value": stamp.isoformat().replace("+00:00", "Z")}
    if isinstance(value, (dict, list, tuple)) or value is None:
        return {"json_value": list(value) if isinstance(value, tuple) else value}
    if hasattr(value, "item"):  # numpy scalars
        return to_value(value.item())
    raise TypeError(f"Cannot store a {type(value).__name__} as metadata: use bool, int, float, str, datetime, dict, list or Json(...)")


def from_value(value: MetadataValue) -> Any:
    if "int64_value" in value:
        return int(value["int64_value"])
    if "timestamp_value" in value:
        return dt.datetime.fromisoformat(value["timestamp_value"].replace("Z", "+00:00"))
    for key in ("string_value", "double_value", "bool_value", "json_value"):
        if key in value:
            return value[key]  # type: ignore[literal-required]
    return None


def to_schema(columns: Any) -> list[dict[str, str]]:
    """A schema as the API stores it, from {name: type}, [(name, type)], [Column] or a DataFrame."""
    if hasattr(columns, "dtypes") and hasattr(columns, "columns"):
        return [{"name": str(name), "type": type_of_dtype(dtype)} for name, dtype in columns.dtypes.items()]
    if isinstance(columns, dict):
        items = list(columns.items())
    else:
        items = [(c.name, c.type) if isinstance(c, Column) else (c["name"], c["type"]) if isinstance(c, dict) else tuple(c) for c in columns]
    return [{"name": str(name), "type": str(kind)} for name, kind in items]


def from_schema(value: Any) -> list[Column] | None:
    if not isinstance(value, list):
        return None
    return [Column(c["name"], c["type"]) for c in value if isinstance(c, dict) and "name" in c and "type" in c]


def type_of_dtype(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    size = getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "Boolean"
    if kind in "iu":
        # uint32 does not fit Int32.
        return "Int32" if (kind == "i" and size <= 4) or size <= 2 else "Int64"
    if kind == "f":
        return "Float32" if size <= 4 else "Float64"
    if kind == "M":
        return "Time64"
    return "String"
