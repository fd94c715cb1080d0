"""Unpack, validate and describe an MLflow model (the MLmodel is read, the model is not run)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from byom_mlflow_processor.safe_zip import ZipLimits, extract_model
from byom_ready.compat import check_sklearn
from byom_ready.manifest import Manifest, write_manifest
from byom_ready.processing import ProcessingError, schema_from_env, sha256_of
from byom_ready.schema import Column, SchemaError, mlflow_signature_to_schema, sample_request

MODEL_DIR = "model"
PYFUNC = "python_function"


def read_mlmodel(model_dir: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load((model_dir / "MLmodel").read_text())
    except FileNotFoundError as error:
        raise ProcessingError("no MLmodel file: it is not an MLflow model directory") from error
    except yaml.YAMLError as error:
        raise ProcessingError(f"MLmodel is not valid YAML: {' '.join(str(error).split())}") from error
    if not isinstance(document, dict) or not isinstance(document.get("flavors"), dict) or not document["flavors"]:
        raise ProcessingError("MLmodel declares no flavors")
    if PYFUNC not in document["flavors"]:
        raise ProcessingError(
            f"MLmodel has no {PYFUNC} flavor (flavors: {', '.join(document['flavors'])}): "
            "a Python runtime cannot load it"
        )
    return document


def framework_of(flavors: dict[str, Any]) -> str:
    """The library flavor (sklearn, xgboost, ...); `python_function` when there is none."""
    named = [name for name in flavors if name != PYFUNC]
    return named[0] if named else PYFUNC


def example_request(model_dir: Path, columns: list[Column]) -> dict[str, Any] | None:
    """The logged input example, as a score request, when MLflow saved one in split format."""
    path = model_dir / "input_example.json"
    if not path.is_file() or path.stat().st_size > 1024**2:
        return None
    try:
        example = json.loads(path.read_text())
        if isinstance(example, dict) and "dataframe_split" in example:
            example = example["dataframe_split"]
        names = example["columns"]
        row = example["data"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(names, list) or not isinstance(row, list) or len(names) != len(row):
        return None
    by_name = dict(zip(names, row, strict=True))
    if any(column.name not in by_name for column in columns):
        return None
    return {"fields": [c.name for c in columns], "rows": [[by_name[c.name] for c in columns]]}


def process(source: Path, target: Path) -> None:
    model_dir = target / MODEL_DIR
    if source.is_dir():
        shutil.copytree(source, model_dir, symlinks=False)
        digest = None
    else:
        extract_model(source, model_dir, ZipLimits.from_env())
        digest = sha256_of(source)
    document = read_mlmodel(model_dir)
    flavors: dict[str, Any] = document["flavors"]
    pyfunc = flavors[PYFUNC] or {}
    sklearn_flavor = flavors.get("sklearn")
    if isinstance(sklearn_flavor, dict) and sklearn_flavor.get("sklearn_version"):
        check_sklearn(str(sklearn_flavor["sklearn_version"]), "mlflow.sklearn.save_model")
    signature = document.get("signature") or {}
    try:
        inputs = schema_from_env("BYOM_INPUT_SCHEMA") or mlflow_signature_to_schema(
            signature.get("inputs"), "inputs", "input"
        )
        outputs = schema_from_env("BYOM_OUTPUT_SCHEMA") or mlflow_signature_to_schema(
            signature.get("outputs"), "outputs", "prediction"
        )
    except SchemaError as error:
        raise ProcessingError(str(error)) from error
    tensor_input = _tensor_input(signature.get("inputs"), inputs)
    if inputs is None:
        raise ProcessingError(
            "the MLmodel has no signature and no input schema was given: log the model with a "
            "signature or set the experiment's input_schema"
        )
    model_id = os.environ.get("BYOM_MODEL_ID") or document.get("model_uuid") or (digest or "model")[:32]
    write_manifest(
        target,
        Manifest(
            model_id=str(model_id),
            source_type="python/mlflow",
            framework=framework_of(flavors),
            flavors=list(flavors),
            loader="mlflow",
            model_path=MODEL_DIR,
            predict_fn=str(pyfunc.get("predict_fn") or "predict"),
            python_version=pyfunc.get("python_version"),
            sha256=digest,
            input_schema=inputs,
            output_schema=outputs,
            sample_request=example_request(model_dir, inputs) or sample_request(inputs),
            tensor_input=tensor_input,
        ),
    )


def _tensor_input(raw: str | None, columns: list[Column] | None) -> dict[str, Any] | None:
    """A single 2-D tensor input (what MLflow 3 records for PyTorch and Keras models) is servable
    when the user declared the columns (BYOM_INPUT_SCHEMA) that make up its last axis."""
    try:
        specs = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return None
    if not isinstance(specs, list) or len(specs) != 1 or specs[0].get("type") != "tensor" or columns is None:
        return None
    tensor = specs[0].get("tensor-spec") or {}
    shape = tensor.get("shape") or []
    if len(shape) != 2 or shape[1] not in (-1, len(columns)):
        raise ProcessingError(
            f"the MLmodel input is a tensor of shape {shape}: only a [-1, {len(columns)}] tensor matches "
            f"the {len(columns)} declared input columns"
        )
    return {"dtype": str(tensor.get("dtype", "float32")), "shape": shape}
