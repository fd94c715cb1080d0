"""Wrap a serialized model into a ready model without unpickling it (no model code runs here).

The framework and schema come from the environment (the experiment's metadata, set by the
deployer): BYOM_FRAMEWORK, BYOM_INPUT_SCHEMA, BYOM_OUTPUT_SCHEMA (optional).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from byom_ready.compat import check_sklearn, sklearn_version_in_pickle
from byom_ready.manifest import Manifest, write_manifest
from byom_ready.processing import ProcessingError, required_env, schema_from_env, sha256_of
from byom_ready.schema import sample_request

MODEL_DIR = "model"

# Declared framework -> how the runtime loads the file.
LOADERS = {
    "sklearn": "joblib",
    "xgboost": "joblib",
    "lightgbm": "joblib",
    "statsmodels": "joblib",
    "python_function": "joblib",
    "pytorch": "torch",
    "torchvision": "torch",
    "fastai": "fastai",
    "keras": "keras",
    "tensorflow": "keras",
    "onnx": "onnx",
}
ALIASES = {"scikit-learn": "sklearn", "torch": "pytorch", "python": "python_function"}

# Leading bytes of a pickle (protocol 2+) and of joblib's compressed containers.
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x04\x22\x4d\x18", b"ZF")


def check_format(path: Path, loader: str) -> None:
    with path.open("rb") as stream:
        head = stream.read(8)
    if not head:
        raise ProcessingError("SOURCE_PATH is an empty file")
    if loader == "joblib" and not head.startswith(_PICKLE_MAGIC):
        raise ProcessingError("SOURCE_PATH is not a pickle or joblib file (unknown leading bytes)")
    if loader in ("torch", "fastai") and not (head.startswith(b"PK") or head.startswith(b"\x80")):
        raise ProcessingError("SOURCE_PATH is not a torch.save file (expected a zip or a pickle)")
    if loader == "keras" and not head.startswith(b"PK"):
        raise ProcessingError("SOURCE_PATH is not a .keras file (expected a zip): save with model.save('m.keras')")


def process(source: Path, target: Path) -> None:
    if not source.is_file():
        raise ProcessingError(f"SOURCE_PATH {source} is not a file")
    declared = required_env("BYOM_FRAMEWORK").strip().lower()
    framework = ALIASES.get(declared, declared)
    if framework not in LOADERS:
        raise ProcessingError(
            f"BYOM_FRAMEWORK {declared!r} cannot be served from a pickle; use one of "
            f"{', '.join(sorted(LOADERS))} (or upload an MLflow model)"
        )
    inputs = schema_from_env("BYOM_INPUT_SCHEMA")
    if inputs is None:
        raise ProcessingError("BYOM_INPUT_SCHEMA is not set: a pickle carries no schema, declare one")
    outputs = schema_from_env("BYOM_OUTPUT_SCHEMA")
    loader = LOADERS[framework]
    check_format(source, loader)
    if framework == "sklearn":
        check_sklearn(sklearn_version_in_pickle(source), "joblib.dump(model, path)")
    digest = sha256_of(source)
    model_dir = target / MODEL_DIR
    model_dir.mkdir()
    file_name = {"torch": "model.pt", "onnx": "model.onnx", "fastai": "export.pkl", "keras": "model.keras"}.get(
        loader, "model.joblib"
    )
    shutil.copyfile(source, model_dir / file_name)
    write_manifest(
        target,
        Manifest(
            model_id=os.environ.get("BYOM_MODEL_ID") or digest[:32],
            source_type="python/pickle",
            framework=framework,
            flavors=[framework],
            loader=loader,
            model_path=f"{MODEL_DIR}/{file_name}",
            sha256=digest,
            input_schema=inputs,
            output_schema=outputs,
            sample_request=sample_request(inputs),
        ),
    )
