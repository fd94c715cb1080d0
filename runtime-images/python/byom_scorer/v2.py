"""The Open Inference Protocol (KServe V2) over the same model: JSON tensors and the binary
tensor data extension (tritonclient's default), one input tensor per schema field.

Inputs become pyarrow arrays and follow the scorer's own input rules (byom_scorer.convert):
a tensor of any numeric type converts as the same JSON numbers would, a BYTES tensor as the same
JSON strings. Outputs are typed by the output schema; Time64 travels as RFC 3339 text (BYTES).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from byom_ready.schema import Column
from byom_scorer.convert import NUMPY_DTYPES, check_columnar_fields, convert_arrow, convert_values
from byom_scorer.errors import bad_request

# Scorer type -> V2 datatype, and the numpy dtype of each fixed-size V2 datatype.
DATATYPES = {"Float64": "FP64", "Float32": "FP32", "Int64": "INT64", "Int32": "INT32", "Boolean": "BOOL",
             "String": "BYTES", "Time64": "BYTES"}
_NUMPY = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
          "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FP16": np.float16,
          "FP32": np.float32, "FP64": np.float64}
_BY_KIND = {"f8": "FP64", "f4": "FP32", "f2": "FP16", "i8": "INT64", "i4": "INT32", "i2": "INT16", "i1": "INT8",
            "u8": "UINT64", "u4": "UINT32", "u2": "UINT16", "u1": "UINT8", "b1": "BOOL"}
HEADER_LENGTH = b"inference-header-content-length"


@dataclass
class Infer:
    columns: list[np.ndarray]
    rows: int
    request_id: str | None
    outputs: list[str] | None  # names asked for; None = all
    binary: dict[str, bool]  # per output: binary data?
    binary_default: bool


def metadata(names: list[str], framework: str, inputs: list[Column], outputs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "name": names[0],
        "versions": ["1"],
        "platform": f"byom_{framework}",
        "inputs": [{"name": c.name, "datatype": DATATYPES[c.type], "shape": [-1]} for c in inputs],
        "outputs": [{"name": name, "datatype": datatype, "shape": [-1]} for name, datatype in outputs],
    }


def parse_infer(body: bytes, header_length: int | None, schema: list[Column]) -> Infer:
    if header_length is not None and not 0 <= header_length <= len(body):
        raise bad_request(f"Inference-Header-Content-Length {header_length} is not within the body's {len(body)} bytes")
    head = body if header_length is None else body[:header_length]
    try:
        request = orjson.loads(head)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"the inference request is not valid JSON: {error}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise bad_request('the inference request must be a JSON object with "inputs": [{"name", "shape", "datatype", "data"}]')
    binary = memoryview(body)[len(head) :]
    offset = 0
    arrays: dict[str, Any] = {}
    rows: int | None = None
    for index, tensor in enumerate(request["inputs"]):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise bad_request(f"inputs[{index}] needs a name")
        name = tensor["name"]
        datatype = tensor.get("datatype")
        shape = tensor.get("shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise bad_request(f"input {name!r}: shape must be a list of sizes")
        count = int(np.prod(shape)) if shape else 1
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise bad_request(f"input {name!r}: shape {shape} is not one value per row ([n] or [n, 1])")
        parameters = tensor.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise bad_request(f"input {name!r}: binary_data_size {size!r} runs past the body")
            values = _from_binary(name, datatype, binary[offset : offset + size], count)
            offset += size
        else:
            values = _from_json(name, datatype, tensor.get("data"), count)
        if rows is None:
            rows = count
        elif count != rows:
            raise bad_request(f"input {name!r} has {count} values; the inputs before it have {rows}")
        if name in arrays:
            raise bad_request(f"input {name!r} appears twice")
        arrays[name] = values
    check_columnar_fields(list(arrays), schema)
    columns = [_column(arrays[column.name], column) for column in schema]
    outputs = request.get("outputs")
    wanted: list[str] | None = None
    per_output: dict[str, bool] = {}
    if outputs is not None:
        if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs):
            raise bad_request('"outputs" must be a list of {"name": ...}')
        wanted = [o["name"] for o in outputs]
        for o in outputs:
            flag = (o.get("parameters") or {}).get("binary_data")
            if flag is not None:
                per_output[o["name"]] = bool(flag)
    parameters = request.get("parameters") or {}
    default = bool(parameters.get("binary_data_output", False)) if isinstance(parameters, dict) else False
    request_id = request.get("id")
    return Infer(columns, rows or 0, request_id if isinstance(request_id, str) else None, wanted, per_output, default)


def _column(values: Any, column: Column) -> np.ndarray:
    """A tensor already of the field's own type is the column (the common case, and the cheap
    one); any other goes through the input rules: JSON data as the same JSON values, binary data
    and BYTES as Arrow arrays."""
    if isinstance(values, list):
        return convert_values(values, column, 0)
    if isinstance(values, np.ndarray):
        if values.dtype == np.dtype(NUMPY_DTYPES[column.type]):
            return values
        import pyarrow as pa

        values = pa.array(values)
    return convert_arrow(values, column, 0)


def _from_json(name: str, datatype: Any, data: Any, count: int) -> Any:
    import pyarrow as pa

    if data is None:
        raise bad_request(f"input {name!r} has neither data nor parameters.binary_data_size")
    flat = _flatten(data)
    if len(flat) != count:
        raise bad_request(f"input {name!r} has {len(flat)} values; its shape says {count}")
    if datatype == "BYTES":
        return pa.array([v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in flat], pa.string())
    if datatype not in _NUMPY:
        raise bad_request(f"input {name!r}: datatype {datatype!r} is not a V2 datatype")
    kinds = set(map(type, flat))
    exact = {bool} if datatype == "BOOL" else {int, float} if datatype.startswith("FP") else {int}
    if kinds <= exact:
        try:
            return np.array(flat, dtype=_NUMPY[datatype])
        except OverflowError:
            pass
    return flat  # anything else: the JSON rules, value by value


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if data and isinstance(data[0], list):
        return [value for inner in data for value in _flatten(inner)]
    return data


def _from_binary(name: str, datatype: Any, raw: memoryview, count: int) -> Any:
    import pyarrow as pa

    if datatype == "BYTES":
        values: list[bytes] = []
        position = 0
        while position < len(raw):
            if position + 4 > len(raw):
                raise bad_request(f"input {name!r}: a BYTES element's length runs past its data")
            (size,) = struct.unpack_from("<I", raw, position)
            position += 4
            if position + size > len(raw):
                raise bad_request(f"input {name!r}: a BYTES element runs past its data")
            values.append(bytes(raw[position : position + size]))
            position += size
        if len(values) != count:
            raise bad_request(f"input {name!r} has {len(values)} values; its shape says {count}")
        return pa.array(values, pa.binary())
    if datatype not in _NUMPY:
        raise bad_request(f"input {name!r}: datatype {datatype!r} is not a V2 datatype")
    dtype = np.dtype(_NUMPY[datatype]).newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise bad_request(f"input {name!r}: {len(raw)} bytes are not {count} {datatype} values")
    values_array = np.frombuffer(raw, dtype=np.uint8 if datatype == "BOOL" else dtype)
    if datatype == "BOOL":
        values_array = values_array.astype(np.bool_)
    return values_array.astype(values_array.dtype.newbyteorder("="))


def datatype_of(column: np.ndarray) -> str:
    kind = column.dtype
    return _BY_KIND.get(f"{kind.kind}{kind.itemsize}", "BYTES")


def _as_v2(column: np.ndarray) -> tuple[str, np.ndarray | list[str]]:
    datatype = datatype_of(column)
    if datatype != "BYTES":
        return datatype, column
    if column.dtype.kind == "M":
        text = np.datetime_as_string(column.astype("datetime64[ns]"), unit="auto", timezone="UTC")
        return "BYTES", ["" if value == "NaT" else str(value) for value in text.tolist()]
    return "BYTES", ["" if value is None else str(value) for value in column.tolist()]


def answer(model_name: str, infer: Infer, names: list[str], columns: list[np.ndarray]) -> tuple[bytes, int | None]:
    """The inference response body, and the JSON part's length when binary data follows it."""
    by_name = dict(zip(names, columns, strict=True))
    wanted = infer.outputs if infer.outputs is not None else names
    tensors: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name in wanted:
        if name not in by_name:
            raise bad_request(f"output {name!r} is not one of the model's outputs {names}")
        datatype, values = _as_v2(by_name[name])
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": [infer.rows]}
        if infer.binary.get(name, infer.binary_default):
            if datatype == "BYTES":
                encoded = [value.encode() for value in values]  # type: ignore[union-attr]
                raw = b"".join(struct.pack("<I", len(item)) + item for item in encoded)
            else:
                array = np.asarray(values)
                raw = (array.astype(np.uint8) if datatype == "BOOL" else array.astype(array.dtype.newbyteorder("<"))).tobytes()
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            tensor["data"] = values if isinstance(values, list) else values.tolist()
        tensors.append(tensor)
    response: dict[str, Any] = {"model_name": model_name, "model_version": "1", "outputs": tensors}
    if infer.request_id is not None:
        response["id"] = infer.request_id
    head = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return head, None
    return head + b"".join(chunks), len(head)
