"""An MLflow model, named by any URI MLflow understands, as the zip Byom ingests.

`models:/churn/3`, `models:/churn@champion`, `runs:/<run>/model`, a local folder … are resolved
by MLflow itself (`mlflow.artifacts.download_artifacts`), so they go through the tracking server and
registry the user's MLflow is configured with (MLFLOW_TRACKING_URI, `mlflow.set_tracking_uri`).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from byom.errors import ByomError


@dataclass
class ModelFacts:
    #: A name for the Byom experiment, e.g. "churn v3".
    suggested_name: str
    #: The MLflow registered model's name, when the URI names one.
    registered_name: str | None
    #: Experiment metadata recording where the model came from.
    metadata: dict[str, Any] = field(default_factory=dict)


def describe_uri(model_uri: str) -> ModelFacts:
    metadata: dict[str, Any] = {"mlflow_model_uri": model_uri}
    registered = re.fullmatch(r"models:/([^/@]+)(?:/([^/]+)|@(.+))", model_uri)
    if registered:
        name, version, alias = registered.groups()
        if version and not version.isdigit() or alias:
            version = _registry_version(name, version, alias)
        metadata["source_model_name"] = name
        if version:
            metadata["source_model_version"] = str(version)
        return ModelFacts(f"{name} v{version}" if version else name, name, metadata)
    run = re.fullmatch(r"runs:/([^/]+)/(.+)", model_uri)
    if run:
        metadata["mlflow_run_id"] = run.group(1)
        return ModelFacts(f"run {run.group(1)[:12]} {run.group(2)}", None, metadata)
    return ModelFacts(Path(model_uri.rstrip("/")).name or "model", None, metadata)


def _registry_version(name: str, stage: str | None, alias: str | None) -> str | None:
    """The concrete version behind an alias (`@champion`) or stage (`/Production`), if MLflow says."""
    try:
        from mlflow import MlflowClient

        client = MlflowClient()
        if alias:
            return str(client.get_model_version_by_alias(name, alias).version)
        versions = client.get_latest_versions(name, stages=[stage] if stage and stage != "latest" else None)
        return str(max(int(v.version) for v in versions)) if versions else None
    except Exception:  # noqa: BLE001 (naming only: the download below reports real problems)
        return None


@contextmanager
def zipped_mlflow_model(model_uri: str) -> Iterator[tuple[Path, ModelFacts]]:
    """Downloads the model (through MLflow) and zips its folder; the zip is removed afterwards."""
    try:
        import mlflow.artifacts
    except ImportError as error:
        raise ByomError("Resolving an MLflow model URI needs the mlflow package: pip install 'byom[mlflow]'.") from error
    facts = describe_uri(model_uri)
    with tempfile.TemporaryDirectory(prefix="byom-mlflow-") as scratch:
        local = Path(model_uri)
        if local.is_dir():
            folder = local
        else:
            try:
                folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=os.path.join(scratch, "model")))
            except Exception as error:  # noqa: BLE001 (MLflow raises many kinds; all mean "cannot fetch")
                raise ByomError(f"MLflow could not fetch {model_uri}: {error}") from error
        if not (folder / "MLmodel").exists():
            raise ByomError(f"{model_uri} is not an MLflow model: {folder} has no MLmodel file.")
        run_id = re.search(r"^run_id:\s*(\S+)", (folder / "MLmodel").read_text(), re.MULTILINE)
        if run_id:
            facts.metadata.setdefault("mlflow_run_id", run_id.group(1))
        target = Path(scratch) / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', facts.suggested_name).strip('-') or 'model'}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        yield target, facts
