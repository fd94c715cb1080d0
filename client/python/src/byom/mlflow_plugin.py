"""The `byom` target of `mlflow deployments` (an entry point in the mlflow.deployments group).

    mlflow deployments create -t byom -m models:/churn/3 --name churn -C project=demo
    mlflow deployments predict -t byom --name churn --input-path rows.json -C project=demo
    client = mlflow.deployments.get_deploy_client("byom:/demo")

`create` resolves the model URI through the user's MLflow (tracking server and registry), uploads
it, waits for ingestion, registers it as the next version of a Byom model, deploys it and waits
until it serves. Connection settings are the SDK's (byom.config); see `target_help()` for the
config keys.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from mlflow.deployments import BaseDeploymentClient, PredictionsResponse
from mlflow.exceptions import MlflowException

from byom.client import Client, Deployment, Project
from byom.config import resolve_config
from byom.errors import ApiError, ByomError

FLAVOR = "python_function"
_CONFIG_KEYS = {
    "project": "the Byom project (name or id); created if missing. Or put it in the target: byom:/<project>",
    "model": "the Byom registered model to add the version to (default: the MLflow model's name, else the deployment name)",
    "mode": "single (default), ab or champion_challenger",
    "targets": "ab/champion_challenger: the Byom versions served before the new one, e.g. churn@3",
    "weights": "ab: percent of traffic per target, e.g. 90,10 (the new model last)",
    "passphrase": "scoring then needs 'Authorization: Bearer <passphrase>' (predict: -C passphrase=… or BYOM_PASSPHRASE)",
    "runtime": "a runtime of the Byom catalog (default: chosen by framework)",
    "processor": "an artifact processor of the Byom catalog (default: by artifact type)",
    "resources": 'JSON, the size of every target (on update too), e.g. {"cpu": "1", "memoryMiB": 2048, "replicas": {"min": 1, "max": 3}}',
    "cpu": "resources.cpu: vCPUs of one replica, a Fargate size (0.25, 0.5, 1, 2, 4, 8, 16; default 1)",
    "memory_mib": "resources.memoryMiB: memory of one replica, one Fargate runs with that cpu (default 2048)",
    "min_replicas": "resources.replicas.min (default 1)",
    "max_replicas": "resources.replicas.max: autoscaling's upper bound (default min)",
    "timeout": "seconds to wait for the deployment to serve (default 900)",
    "api_url": "the Byom API (default: BYOM_API_URL, else local mode's .byom/local.json)",
    "region": "AWS region for SigV4 (default: AWS_REGION or the API's host name)",
}


def target_help() -> str:
    keys = "\n".join(f"  -C {key}=...  {text}" for key, text in _CONFIG_KEYS.items())
    return (
        "Deploys MLflow models to Byom (serverless bring-your-own-model on AWS, or its local mode).\n\n"
        "Target URI: byom, or byom:/<project>.\n"
        "Connection: BYOM_API_URL and the AWS credential chain (SigV4), or local mode's .byom/local.json\n"
        "(BYOM_HOME). Model URIs (models:/, runs:/ …) resolve through your MLflow tracking server.\n\n"
        f"Config keys:\n{keys}\n\n"
        "Example:\n"
        "  mlflow deployments create -t byom:/demo -m models:/churn/3 --name churn\n"
        "  mlflow deployments predict -t byom:/demo --name churn --input-path rows.json\n"
    )


def run_local(name: str, model_uri: str, flavor: str | None = None, config: dict[str, Any] | None = None) -> None:
    """Deploys to Byom's local mode on this machine (`npm start`, .byom/local.json), whatever
    BYOM_API_URL says, and prints the endpoint to score. (MLflow passes no target: the project
    comes from -C project=….)"""
    local = resolve_config(env={k: v for k, v in os.environ.items() if k not in ("BYOM_API_URL", "BYOM_TOKEN")})
    client = ByomDeploymentClient("byom", byom_client=Client(config=local, progress=False))
    deployment = client.create_deployment(name, model_uri, flavor, config)
    print(f"Deployment {name} serves at {deployment['endpoint']}/model/score (Byom local mode)")


class ByomDeploymentClient(BaseDeploymentClient):
    def __init__(self, target_uri: str, byom_client: Client | None = None) -> None:
        super().__init__(target_uri)
        match = re.fullmatch(r"byom(?::/*([^/]*))?/?", target_uri or "byom")
        if not match:
            raise MlflowException(f"'{target_uri}' is not a Byom target: use byom or byom:/<project>.")
        self.default_project = match.group(1) or None
        self._client = byom_client

    # MLflow's interface ---------------------------------------------------------------------------

    def create_deployment(self, name: str, model_uri: str, flavor: str | None = None, config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        config = dict(config or {})
        _check_flavor(flavor)
        with _mlflow_errors():
            project = self._project(config, create=True)
            if _live(project, name) is not None:
                raise MlflowException(f"A deployment named '{name}' already exists in project {project.name}: use `mlflow deployments update`.")
            version = self._register(project, name, model_uri, config)
            mode = config.get("mode", "single")
            targets: list[Any] = [*_versions(project, config.get("targets")), version]
            deployment = project.deployments.create(
                targets,
                name,
                mode=mode,
                weights=_weights(config.get("weights")),
                passphrase=config.get("passphrase"),
                runtime=config.get("runtime"),
                processor=config.get("processor"),
                resources=_resources(config),
                timeout=float(config.get("timeout", 900)),
            )
            return _describe(deployment)

    def update_deployment(self, name: str, model_uri: str | None = None, flavor: str | None = None, config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        config = dict(config or {})
        _check_flavor(flavor)
        with _mlflow_errors():
            project = self._project(config)
            deployment = _live(project, name)
            if deployment is None:
                raise MlflowException(f"No deployment named '{name}' in project {project.name}: create it first.")
            current = list(deployment.data["targets"])
            if model_uri:
                if "model" not in config:
                    # The new version joins the model the replaced (last) target serves.
                    config["model"] = project.models.get(current[-1]["modelId"]).name
                version = self._register(project, name, model_uri, config)
                current[-1] = {k: v for k, v in current[-1].items() if k not in ("modelId", "version")} | {"modelId": version.model.id, "version": version.number}
            elif "weights" not in config and _resources(config) is None:
                raise MlflowException("Nothing to update: give --model-uri, -C weights=… or resources.")
            if _resources(config) is not None:
                current = [{k: v for k, v in t.items() if k != "resources"} for t in current]
            weights = _weights(config.get("weights"))
            if weights:
                current = [{**t, "weight": w} for t, w in zip(current, weights, strict=True)]
            deployment.update(current, resources=_resources(config), timeout=float(config.get("timeout", 900)))
            return _describe(deployment)

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None, endpoint: str | None = None) -> None:
        with _mlflow_errors():
            project = self._project(dict(config or {}))
            deployment = _live(project, name)
            # MLflow's contract: deleting what does not exist is not an error.
            if deployment is not None:
                deployment.delete(timeout=float((config or {}).get("timeout", 300)))

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with _mlflow_errors():
            projects = [self._project({})] if self.default_project else self.client.projects.list()
            return [_describe(d) for p in projects for d in p.deployments.list()]

    def get_deployment(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        with _mlflow_errors():
            deployment = _live(self._project({}), name)
            if deployment is None:
                raise MlflowException(f"No deployment named '{name}'.", error_code="RESOURCE_DOES_NOT_EXIST")
            return _describe(deployment)

    def predict(self, deployment_name: str | None = None, inputs: Any = None, endpoint: str | None = None, passphrase: str | None = None) -> PredictionsResponse:
        import pandas as pd

        with _mlflow_errors():
            deployment = _live(self._project({}), deployment_name or "")
            if deployment is None:
                raise MlflowException(f"No deployment named '{deployment_name}'.", error_code="RESOURCE_DOES_NOT_EXIST")
            frame = inputs if isinstance(inputs, pd.DataFrame) else pd.DataFrame(inputs)
            scores = deployment.score(frame, passphrase=passphrase)
            return PredictionsResponse({"predictions": json.loads(scores.to_json(orient="records", date_format="iso"))})

    # Helpers ----------------------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(progress=False)
        return self._client

    def _project(self, config: Mapping[str, Any], create: bool = False) -> Project:
        if self._client is None and ("api_url" in config or "region" in config):
            self._client = Client(api_url=config.get("api_url"), region=config.get("region"), progress=False)
        name = config.get("project") or self.default_project
        if not name:
            raise MlflowException("Which Byom project? Pass -C project=<name> or use the target byom:/<project>.")
        return self.client.projects.get_or_create(name) if create else self.client.projects.get(name)

    def _register(self, project: Project, name: str, model_uri: str, config: Mapping[str, Any]) -> Any:
        experiment = project.upload_mlflow_model(model_uri, progress=False)
        from byom.mlflow_models import describe_uri

        model_name = config.get("model") or describe_uri(model_uri).registered_name or name
        return experiment.register(model_name)


def _live(project: Project, name: str) -> Deployment | None:
    matches = [d for d in project.deployments.list() if d.name == name]
    if len(matches) > 1:
        raise MlflowException(f"{len(matches)} deployments are named '{name}' in {project.name}.")
    return matches[0] if matches else None


def _versions(project: Project, text: str | None) -> list[tuple[str, int]]:
    out = []
    for spec in (text or "").split(","):
        if spec.strip():
            match = re.fullmatch(r"(.+)@(\d+)", spec.strip())
            if not match:
                raise MlflowException(f"'{spec}' is not <model>@<version>, e.g. churn@3.")
            out.append((match.group(1), int(match.group(2))))
    return out


def _weights(text: Any) -> list[int] | None:
    if text in (None, ""):
        return None
    try:
        return [int(w) for w in str(text).split(",")]
    except ValueError as error:
        raise MlflowException(f"weights must be whole percentages like 90,10, not '{text}'.") from error


def _resources(config: Mapping[str, Any]) -> dict[str, Any] | None:
    resources: dict[str, Any] = {}
    if config.get("resources"):
        raw = config["resources"]
        try:
            resources = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except ValueError as error:
            raise MlflowException(f"resources must be JSON, e.g. {{\"cpu\": 1}}: {error}") from error
    for key, path in (("cpu", ("cpu",)), ("memory_mib", ("memoryMiB",)), ("min_replicas", ("replicas", "min")), ("max_replicas", ("replicas", "max"))):
        if key in config:
            try:
                value = str(config[key]) if key == "cpu" else int(config[key])
            except ValueError as error:
                raise MlflowException(f"{key} must be a whole number, not '{config[key]}'.") from error
            node = resources
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
    return resources or None


def _check_flavor(flavor: str | None) -> None:
    if flavor not in (None, FLAVOR):
        raise MlflowException(f"Byom serves the {FLAVOR} flavor; '{flavor}' is not supported.")


def _describe(deployment: Deployment) -> dict[str, Any]:
    data = deployment.data
    return {
        "name": data["name"],
        "id": data["deploymentId"],
        "project": deployment.project.name,
        "flavor": FLAVOR,
        "status": data["status"],
        "mode": data["mode"],
        "endpoint": data["endpointUrl"],
        "serving": [f"{s['modelName']}@{s['version']}" for s in data["serving"]],
        "resources": [s.get("resources") for s in data["serving"]],
        "failureReason": data["failureReason"],
    }


class _mlflow_errors:  # noqa: N801 (used as a context manager)
    """Byom's errors as MlflowException, the error type the mlflow CLI prints cleanly."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if isinstance(error, ApiError):
            raise MlflowException(f"Byom: {error}" + (f" {error.details}" if error.details else "")) from error
        if isinstance(error, ByomError):
            raise MlflowException(f"Byom: {error}") from error
