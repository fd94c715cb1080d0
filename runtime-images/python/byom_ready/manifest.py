"""The ready-model manifest, `byom-model.json` at the root of a processor's TARGET_PATH."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from byom_ready.schema import Column, parse_schema

MANIFEST_FILE = "byom-model.json"
FORMAT_VERSION = 1

# How the runtime loads the files under `model/`.
LOADERS = ("mlflow", "joblib", "torch", "onnx", "fastai", "keras")


@dataclass
class Manifest:
    model_id: str
    source_type: str  # "python/mlflow" or "python/pickle"
    framework: str  # MLflow flavor name or the declared framework of a pickle
    loader: str  # one of LOADERS
    model_path: str  # relative to the ready-model directory
    input_schema: list[Column]
    output_schema: list[Column] | None
    flavors: list[str] = field(default_factory=list)
    predict_fn: str = "predict"
    python_version: str | None = None
    sha256: str | None = None
    sample_request: dict[str, Any] | None = None
    # Set when the MLflow signature takes one tensor: the declared columns, in order, are its
    # last axis, and the model is called with a matrix of this dtype.
    tensor_input: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "formatVersion": FORMAT_VERSION,
            "modelId": self.model_id,
            "sourceType": self.source_type,
            "framework": self.framework,
            "flavors": self.flavors,
            "loader": self.loader,
            "modelPath": self.model_path,
            "predictFn": self.predict_fn,
            "pythonVersion": self.python_version,
            "sha256": self.sha256,
            "inputSchema": [column.to_json() for column in self.input_schema],
            "outputSchema": (
                None if self.output_schema is None else [c.to_json() for c in self.output_schema]
            ),
            "sampleRequest": self.sample_request,
            "tensorInput": self.tensor_input,
        }


def write_manifest(target: Path, manifest: Manifest) -> Path:
    """Writes atomically, so a runtime never reads half a manifest."""
    path = target / MANIFEST_FILE
    temporary = target / f".{MANIFEST_FILE}.tmp"
    temporary.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    os.replace(temporary, path)
    return path


def read_manifest(ready_dir: Path) -> Manifest:
    path = ready_dir / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ValueError(
            f"{path} not found: MODEL_PATH must be a processor's output (a ready model)"
        ) from error
    if raw.get("formatVersion") != FORMAT_VERSION:
        raise ValueError(f"{path}: formatVersion {raw.get('formatVersion')!r} is not supported")
    if raw.get("loader") not in LOADERS:
        raise ValueError(f"{path}: loader {raw.get('loader')!r} is not one of {LOADERS}")
    output = raw.get("outputSchema")
    return Manifest(
        model_id=raw["modelId"],
        source_type=raw["sourceType"],
        framework=raw["framework"],
        loader=raw["loader"],
        model_path=raw["modelPath"],
        input_schema=parse_schema(raw["inputSchema"], "inputSchema"),
        output_schema=None if output is None else parse_schema(output, "outputSchema"),
        flavors=list(raw.get("flavors") or []),
        predict_fn=raw.get("predictFn") or "predict",
        python_version=raw.get("pythonVersion"),
        sha256=raw.get("sha256"),
        sample_request=raw.get("sampleRequest"),
        tensor_input=raw.get("tensorInput"),
    )
