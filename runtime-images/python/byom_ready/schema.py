"""Model schemas in the registry's format (docs/concepts.md) and their scorer API names (docs/scorer-api.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Canonical column types, as the registry stores them.
COLUMN_TYPES = ("Boolean", "Time64", "Float32", "Float64", "Int32", "Int64", "String")
_CANONICAL = {name.lower(): name for name in COLUMN_TYPES}

# The scorer API renames two types (H2O compatibility): Boolean<->Bool, String<->Str.
_SCORER_NAMES = {"Boolean": "Bool", "String": "Str"}

_MLFLOW_TYPES = {
    "boolean": "Boolean",
    "integer": "Int32",
    "long": "Int64",
    "float": "Float32",
    "double": "Float64",
    "string": "String",
    "datetime": "Time64",
}


class SchemaError(ValueError):
    """A schema is missing, malformed or uses a type Byom cannot serve."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


def canonical_type(raw: object, where: str) -> str:
    if not isinstance(raw, str) or raw.lower() not in _CANONICAL:
        raise SchemaError(
            f"{where}: type {raw!r} is not one of {', '.join(COLUMN_TYPES)} (case-insensitive)"
        )
    return _CANONICAL[raw.lower()]


def _non_empty_list(raw: Any, what: str, of: str) -> list[Any]:
    """`raw` decoded when a JSON string, and checked to be a non-empty list (of `of`)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise SchemaError(f"{what} is not valid JSON: {error}") from error
    if not isinstance(raw, list) or not raw:
        raise SchemaError(f"{what} must be a non-empty {of}")
    return raw


def parse_schema(raw: Any, what: str) -> list[Column]:
    """Parses `[{"name", "type"}, ...]` (a JSON string or already decoded)."""
    raw = _non_empty_list(raw, what, 'JSON array of {"name", "type"} objects')
    columns: list[Column] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{what}[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise SchemaError(f'{where} must be an object with a non-empty string "name"')
        name = item["name"]
        if name in seen:
            raise SchemaError(f"{where}: column {name!r} appears twice")
        seen.add(name)
        columns.append(Column(name, canonical_type(item.get("type"), where)))
    return columns


_TENSOR_TYPES = {
    "bool": "Boolean",
    "int8": "Int32",
    "int16": "Int32",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "Int32",
    "uint16": "Int32",
    "uint32": "Int64",
    "float16": "Float32",
    "float32": "Float32",
    "float64": "Float64",
    "str": "String",
    "object": "String",
}


def _tensor_outputs(spec: dict[str, Any], default_name: str) -> list[Column]:
    """An output tensor `[-1]` or `[-1, k]` is k prediction columns (what predict returns)."""
    tensor = spec.get("tensor-spec") or {}
    kind = _TENSOR_TYPES.get(str(tensor.get("dtype")), "Float64")
    shape = tensor.get("shape") or [-1]
    width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0 else 1
    if width == 1:
        return [Column(default_name, kind)]
    return [Column(f"{default_name}.{index}", kind) for index in range(width)]


def mlflow_signature_to_schema(raw: str | None, what: str, default_name: str) -> list[Column] | None:
    """Turns an MLmodel `signature.inputs`/`outputs` JSON string into columns.

    Unnamed output columns (sklearn's usual `[{"type": "long"}]`) get `default_name`, or
    `default_name.<i>` when there are several. Tensor and binary specs are refused: Byom serves
    tabular requests and will not guess a column layout for them.
    """
    if raw is None:
        return None
    specs = _non_empty_list(raw, f"MLmodel signature {what}", "list of columns")
    columns: list[Column] = []
    for index, spec in enumerate(specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "tensor" and what == "outputs" and len(specs) == 1:
            return _tensor_outputs(spec, default_name)
        if kind == "tensor":
            raise SchemaError(
                f"MLmodel signature {what} is tensor-based: unsupported for tabular deployment; "
                "log the model with a column-based signature (a pandas DataFrame input example)"
            )
        if kind not in _MLFLOW_TYPES:
            raise SchemaError(
                f"MLmodel signature {what}[{index}] has type {kind!r}: unsupported for tabular "
                f"deployment (supported: {', '.join(sorted(_MLFLOW_TYPES))})"
            )
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            name = default_name if len(specs) == 1 else f"{default_name}.{index}"
        columns.append(Column(name, _MLFLOW_TYPES[kind]))
    return columns


def scorer_data_type(column_type: str) -> str:
    return _SCORER_NAMES.get(column_type, column_type)


_SAMPLE_VALUES = {
    "Boolean": "true",
    "Time64": "2024-01-01T00:00:00Z",
    "Float32": "0.5",
    "Float64": "0.5",
    "Int32": "1",
    "Int64": "1",
    "String": "a",
}


def sample_request(columns: list[Column]) -> dict[str, Any]:
    """A valid score request for the schema, with H2O-style string values."""
    return {
        "fields": [column.name for column in columns],
        "rows": [[_SAMPLE_VALUES[column.type] for column in columns]],
    }
