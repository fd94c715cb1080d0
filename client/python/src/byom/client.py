"""The Byom client: projects, experiments, uploads, models, deployments, scoring and the catalog.

    import byom
    client = byom.Client()                      # local mode (.byom/local.json) or BYOM_API_URL + AWS
    project = client.projects.create("demo")
    experiment = project.upload("model.zip", name="churn-v1")   # waits for ingestion
    version = project.models.create("churn").register(experiment)
    deployment = version.deploy(name="churn")                    # waits until HEALTHY
    deployment.score(frame)                                      # a DataFrame typed by the schema

Each object keeps the API's JSON as `.data` (typed by byom._api, generated from the OpenAPI
document) and is refreshed with `.refresh()`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from byom import _api
from byom._transport import Transport
from byom.config import Config, resolve_config
from byom.errors import ApiError, ByomError, DeploymentFailed, IngestionFailed
from byom.jobs import Job
from byom.metadata import Column, from_schema, from_value, to_schema, to_value
from byom.progress import Progress, default_enabled
from byom.scoring import DEFAULT_BATCH_ROWS, Scorer, json_cell, typed_frame
from byom.uploads import StateStore, put_multipart, put_single, sha256_of
from byom.waiting import wait_until

#: Artifact types by file extension, when `type=` is not given (as the CLI decides).
TYPE_BY_EXTENSION = {".zip": "python/mlflow", ".pkl": "python/pickle", ".pickle": "python/pickle", ".joblib": "python/pickle"}
SETTLED = ("HEALTHY", "FAILED", "UNHEALTHY", "DELETED")
CATALOG_KINDS = ("artifact-types", "deployable-artifact-types", "artifact-processors", "model-types", "runtimes")
Mode = Literal["single", "ab", "champion_challenger"]
#: A target's size and replica bounds, as the API takes it: {"cpu", "memoryMiB", "replicas": {"min", "max"}}.
Resources = Mapping[str, Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _is_id(value: str, prefix: str) -> bool:
    return re.fullmatch(prefix + r"-[0-9a-z]{26}", value) is not None


def _parameters_of(method: Callable[Concatenate[Any, _P], _R]) -> Callable[[Callable[..., _R]], Callable[Concatenate[Any, _P], _R]]:
    """For a shortcut that only delegates (project.deploy → project.deployments.create): gives it
    `method`'s parameters, for type checkers and IDEs (through the types) and help() (through
    __wrapped__), and its docstring, so the keyword list is written once."""

    def shortcut(delegate: Callable[..., _R]) -> Callable[Concatenate[Any, _P], _R]:
        return functools.update_wrapper(delegate, method, assigned=("__doc__",), updated=())

    return shortcut


class Client:
    """Connects with the CLI's configuration unless told otherwise (see byom.config)."""

    def __init__(
        self,
        api_url: str | None = None,
        region: str | None = None,
        token: str | None = None,
        progress: bool | None = None,
        config: Config | None = None,
    ) -> None:
        self.config = config or resolve_config(api_url=api_url, region=region, token=token)
        self.transport = Transport(self.config)
        #: Show progress bars and deployment states (default: in notebooks and terminals).
        self.progress = default_enabled() if progress is None else progress
        self.projects = Projects(self)
        self.catalog = Catalog(self)

    def call(self, operation_id: str, params: Mapping[str, Any] | None = None, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """Any API operation by its OpenAPI operationId (see byom._api.OPERATIONS)."""
        return self.transport.call(operation_id, params, query, body)

    def health(self) -> dict[str, Any]:
        return self.call("health")

    def project(self, name_or_id: str) -> Project:
        return self.projects.get(name_or_id)

    def job(self, project_id: str, job_id: str) -> Job:
        """A job by its ids (what a 202 answered); also after the job deleted its project."""
        return Job(self, project_id, {"jobId": job_id, "status": "QUEUED"}).refresh()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    data: Any

    def __init__(self, client: Client, data: Any) -> None:
        self.client = client
        self.data = data

    def __repr__(self) -> str:
        name = self.data.get("name") if isinstance(self.data, dict) else None
        return f"<{type(self).__name__} {getattr(self, 'id', '?')}{f' {name!r}' if name else ''}>"


class _Named(_Resource):
    """A project, experiment, model or deployment: its id is `.data[_id_key]`, its name `.data["name"]`."""

    _id_key: ClassVar[str]

    @property
    def id(self) -> str:
        return self.data[self._id_key]

    @property
    def name(self) -> str:
        return self.data["name"]


class _InProject(_Named):
    """An experiment, model or deployment: a thing of `project`."""

    def __init__(self, project: Project, data: Any) -> None:
        super().__init__(project.client, data)
        self.project = project


class _InProjectList:
    """project.experiments, project.models or project.deployments."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.client = project.client


class Projects:
    def __init__(self, client: Client) -> None:
        self.client = client

    def list(self) -> list[Project]:
        return [Project(self.client, p) for p in self.client.transport.pages("listProjects")]

    def create(self, name: str, description: str | None = None) -> Project:
        body: _api.CreateProjectBody = {"name": name}
        if description is not None:
            body["description"] = description
        return Project(self.client, self.client.call("createProject", body=body))

    def get(self, name_or_id: str) -> Project:
        if _is_id(name_or_id, "prj"):
            return Project(self.client, self.client.call("getProject", {"projectId": name_or_id}))
        matches = [p for p in self.list() if p.name == name_or_id]
        return _one(matches, "project", name_or_id, "client.projects.list()")

    def get_or_create(self, name: str, description: str | None = None) -> Project:
        try:
            return self.get(name)
        except ByomError as error:
            if getattr(error, "code", None) == "NOT_FOUND":
                return self.create(name, description)
            raise


def _one(matches: list[Any], kind: str, name: str, listing: str) -> Any:
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ApiError(404, "NOT_FOUND", f"No {kind} named '{name}'. See {listing}.")
    ids = ", ".join(m.id for m in matches)
    raise ApiError(409, "CONFLICT", f"{len(matches)} {kind}s are named '{name}' ({ids}): pass the id instead.")


class Deployments(_InProjectList):
    def list(self, include_deleted: bool = False) -> list[Deployment]:
        items = self.client.transport.pages("listDeployments", {"projectId": self.project.id})
        return [Deployment(self.project, d) for d in items if include_deleted or d["status"] != "DELETED"]

    def get(self, name_or_id: str) -> Deployment:
        if _is_id(name_or_id, "dep"):
            return Deployment(self.project, self.client.call("getDeployment", {"projectId": self.project.id, "deploymentId": name_or_id}))
        return _one([d for d in self.list() if d.name == name_or_id], "deployment", name_or_id, "project.deployments.list()")

    def create(
        self,
        targets: Sequence[ModelVersion | Mapping[str, Any] | tuple[Any, int]] | ModelVersion,
        name: str,
        mode: Mode | None = None,
        weights: Sequence[int] | None = None,
        passphrase: str | None = None,
        runtime: str | None = None,
        processor: str | None = None,
        resources: Resources | Sequence[Resources | None] | None = None,
        capture: float | None = None,
        baseline_rows: int | None = None,
        wait: bool = True,
        timeout: float = 900,
        progress: bool | None = None,
    ) -> Deployment:
        """Deploys model versions. One target is mode single; two or more need mode "ab" (split by
        `weights`, default even) or "champion_challenger" (the first answers, the second gets
        shadow copies). `passphrase` protects scoring. `resources` sizes every target
        ({"cpu": "0.5", "memoryMiB": 1024, "replicas": {"min": 1, "max": 3}}, each field optional;
        cpu may be a number), or each target in turn when a list; a target dict's own "resources"
        wins. A size Fargate does not run is ApiError 400 VALIDATION_FAILED naming the field, and
        nothing is created. `capture` (0–100) is the share of score requests written with their
        answers from the first revision on, `baseline_rows` how many first captured rows are the
        drift baseline (default 1000; docs/monitoring.md). With `wait`, returns once HEALTHY,
        showing each state; raises DeploymentFailed if it ends otherwise."""
        items = [targets] if isinstance(targets, ModelVersion) else list(targets)
        mode = mode or ("single" if len(items) == 1 else None)
        if mode is None:
            raise ByomError('Two or more targets need mode="ab" or mode="champion_challenger".')
        body: dict[str, Any] = {
            "name": name,
            "mode": mode,
            "targets": _targets(self.project, items, mode, weights, runtime, processor, resources),
            "security": {"mode": "passphrase", "passphrase": passphrase} if passphrase else {"mode": "none"},
        }
        if capture is not None:
            body["capture"] = _capture(capture, baseline_rows)
        elif baseline_rows is not None:
            raise ByomError("baseline_rows goes with capture=<percent>.")
        deployment = Deployment(self.project, self.client.call("createDeployment", {"projectId": self.project.id}, body=body), passphrase)
        if wait:
            deployment.wait(timeout=timeout, progress=progress)
        return deployment


class Project(_Named):
    data: _api.Project
    _id_key = "projectId"

    def __init__(self, client: Client, data: _api.Project) -> None:
        super().__init__(client, data)
        self.experiments = Experiments(self)
        self.models = Models(self)
        self.deployments = Deployments(self)

    def refresh(self) -> Project:
        self.data = self.client.call("getProject", {"projectId": self.id})
        return self

    def delete(self, wait: bool = True, timeout: float = 1800, progress: bool | None = None) -> Job:
        """Deletes the project and everything in it (owners; 409 while deployments exist), as a job:
        from now on the project takes no writes. Waits for the job (showing its progress) unless
        `wait=False`; returns the Job either way (JobFailed if it fails)."""
        job = Job(self.client, self.id, self.client.call("deleteProject", {"projectId": self.id}))
        return job.wait(timeout, progress, f"deleting project {self.name}") if wait else job

    def job(self, job_id: str) -> Job:
        """One of the project's jobs by id (e.g. from `delete(wait=False)`), fetched now."""
        return self.client.job(self.id, job_id)

    def upload(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        experiment: Experiment | str | None = None,
        description: str | None = None,
        type: str | None = None,  # noqa: A002 (the API's word)
        framework: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        parallel: int = 4,
        wait: bool = True,
        timeout: float = 600,
        restart: bool = False,
        progress: bool | None = None,
    ) -> Experiment:
        """Uploads a model file as an experiment's artifact and (by default) waits for ingestion.

        Creates an experiment named `name` (default: the file name without extension), or adds the
        artifact to `experiment`. Large files go up as a multipart upload, `parallel` parts at a
        time; an interrupted upload resumes when the same call runs again (`restart=True` forgets
        it). Raises IngestionFailed when ingestion rejects the file.
        """
        return _Uploader(self, Path(path).expanduser().resolve(), progress).run(
            name, experiment, description, type, framework, metadata, parallel, wait, timeout, restart
        )

    def upload_mlflow_model(self, model_uri: str, name: str | None = None, **options: Any) -> Experiment:
        """Uploads an MLflow model by URI (models:/, runs:/, a local folder …), resolved through the
        MLflow tracking server MLflow is configured with (needs the `mlflow` package)."""
        from byom.mlflow_models import zipped_mlflow_model

        with zipped_mlflow_model(model_uri) as (zip_path, facts):
            metadata = {**facts.metadata, **(options.pop("metadata", None) or {})}
            return self.upload(zip_path, name=name or facts.suggested_name, type="python/mlflow", metadata=metadata, **options)

    def import_mlflow(
        self,
        tracking_uri: str,
        model_name: str,
        version: int | str,
        wait: bool = True,
        timeout: float = 600,
        progress: bool | None = None,
    ) -> Experiment | Job:
        """Asks the API to import a registered version from an MLflow Model Registry it can reach.

        The import runs as a job (the API answers at once): by default this waits for it, showing
        its progress, then for ingestion, and returns the new Experiment (JobFailed when the
        registry refuses or the transfer breaks off, IngestionFailed when ingestion does).
        `wait=False` returns the Job instead; its `result` holds the experiment and artifact once
        SUCCEEDED."""
        accepted = self.client.call(
            "importMlflowModel", {"projectId": self.id}, body={"trackingUri": tracking_uri, "modelName": model_name, "version": version}
        )
        job = Job(self.client, self.id, accepted)
        if not wait:
            return job
        job.wait(timeout, progress, f"importing {model_name} v{version}")
        experiment = Experiment(self, job.result["experiment"])
        experiment.wait_for_ingestion(job.result["artifact"]["artifactId"], timeout)
        return experiment.refresh()

    @_parameters_of(Deployments.create)
    def deploy(self, *args: Any, **kwargs: Any) -> Deployment:
        return self.deployments.create(*args, **kwargs)


class Experiments(_InProjectList):
    def list(self) -> list[Experiment]:
        return [Experiment(self.project, e) for e in self.client.transport.pages("listExperiments", {"projectId": self.project.id})]

    def create(self, name: str, description: str | None = None, metadata: Mapping[str, Any] | None = None) -> Experiment:
        body: _api.CreateExperimentBody = {"name": name}
        if description is not None:
            body["description"] = description
        if metadata:
            body["metadata"] = {k: to_value(v) for k, v in metadata.items()}
        return Experiment(self.project, self.client.call("createExperiment", {"projectId": self.project.id}, body=body))

    def get(self, name_or_id: str) -> Experiment:
        if _is_id(name_or_id, "exp"):
            return Experiment(self.project, self.client.call("getExperiment", {"projectId": self.project.id, "experimentId": name_or_id}))
        return _one([e for e in self.list() if e.name == name_or_id], "experiment", name_or_id, "project.experiments.list()")


class Experiment(_InProject):
    data: _api.Experiment
    _id_key = "experimentId"

    @property
    def _params(self) -> dict[str, str]:
        return {"projectId": self.project.id, "experimentId": self.id}

    @property
    def metadata(self) -> dict[str, Any]:
        """Metadata as Python values: int64 as int, timestamps as datetime, json as dict/list."""
        return {k: from_value(v) for k, v in self.data["metadata"].items()}

    @property
    def input_schema(self) -> list[Column] | None:
        return from_schema(self.metadata.get("input_schema"))

    @property
    def output_schema(self) -> list[Column] | None:
        return from_schema(self.metadata.get("output_schema"))

    @property
    def registered_as(self) -> _api.ExperimentRegisteredAs | None:
        return self.data["registeredAs"]

    def refresh(self) -> Experiment:
        self.data = self.client.call("getExperiment", self._params)
        return self

    def update_metadata(self, values: Mapping[str, Any]) -> Experiment:
        """Merges `values` into the metadata; a None value removes that key."""
        body = {k: None if v is None else to_value(v) for k, v in values.items()}
        self.data = self.client.call("patchExperiment", self._params, body={"metadata": body})
        return self

    def set_metadata(self, **values: Any) -> Experiment:
        return self.update_metadata(values)

    def set_schema(self, input: Any = None, output: Any = None) -> Experiment:  # noqa: A002
        """Sets input_schema/output_schema from {name: type}, [(name, type)], [Column] or a DataFrame
        (types from its dtypes). The API checks the types (Boolean, Time64, Float32, Float64, Int32,
        Int64, String, any case)."""
        from byom.metadata import Json

        values: dict[str, Any] = {}
        if input is not None:
            values["input_schema"] = Json(to_schema(input))
        if output is not None:
            values["output_schema"] = Json(to_schema(output))
        return self.update_metadata(values)

    def artifacts(self) -> list[_api.Artifact]:
        return list(self.client.transport.pages("listArtifacts", self._params))

    def artifact(self, artifact_id: str) -> _api.Artifact:
        return self.client.call("getArtifact", {**self._params, "artifactId": artifact_id})

    def wait_for_ingestion(self, artifact_id: str, timeout: float = 600) -> _api.Artifact:
        """Polls the artifact until READY (returned) or FAILED (IngestionFailed)."""
        artifact = wait_until(
            lambda: self.artifact(artifact_id),
            lambda a: a["status"] in ("READY", "FAILED"),
            timeout,
            lambda a: f"Artifact {artifact_id} is still {a['status']}",
        )
        if artifact["status"] == "FAILED":
            raise IngestionFailed(
                f"Ingestion of {artifact['fileName']} failed: {artifact.get('failureReason') or 'no reason given'} "
                f"(artifact {artifact_id}, experiment {self.id}). Fix the file and upload it again.",
                dict(artifact),
            )
        self.refresh()
        return artifact

    def register(self, model: Model | str) -> ModelVersion:
        """Registers this experiment as the next version of `model` (a Model, or a name to create or reuse)."""
        if isinstance(model, str):
            model = self.project.models.get_or_create(model)
        return model.register(self)

    def delete(self, wait: bool = True, timeout: float = 1800, progress: bool | None = None) -> Job:
        """Deletes the experiment at once (refused once registered) and its artifacts in a job,
        waited for unless `wait=False`; returns the Job either way (JobFailed if it fails)."""
        job = Job(self.client, self.project.id, self.client.call("deleteExperiment", self._params))
        return job.wait(timeout, progress, f"deleting experiment {self.name}") if wait else job


class _Uploader:
    def __init__(self, project: Project, path: Path, progress: bool | None) -> None:
        self.project = project
        self.client = project.client
        self.path = path
        self.progress = self.client.progress if progress is None else progress

    def run(
        self,
        name: str | None,
        experiment: Experiment | str | None,
        description: str | None,
        type_: str | None,
        framework: str | None,
        metadata: Mapping[str, Any] | None,
        parallel: int,
        wait: bool,
        timeout: float,
        restart: bool,
    ) -> Experiment:
        path = self.path
        if name and experiment:
            raise ByomError("Give experiment= (an existing one) or name= (a new one), not both.")
        if not path.exists():
            raise ByomError(f"File '{path}' does not exist. Check the path.")
        if path.is_dir():
            raise ByomError(f"'{path}' is a folder. Zip an MLflow model folder first, or use project.upload_mlflow_model('{path}').")
        stat = path.stat()
        if stat.st_size == 0:
            raise ByomError(f"'{path}' is empty: an empty file is not a model.")
        type_ = type_ or TYPE_BY_EXTENSION.get(path.suffix.lower())
        if not type_:
            raise ByomError(
                f"Cannot tell the artifact type of '{path.name}' from its extension: pass type= "
                "(python/mlflow for an MLflow model zip, python/pickle with framework= for a pickle)."
            )
        target = experiment.id if isinstance(experiment, Experiment) else experiment
        store = StateStore(
            self.client.config.home,
            [self.client.config.api_url, self.project.id, target or f"name:{name or ''}", str(path), stat.st_size, stat.st_mtime_ns, type_],
        )
        if restart:
            store.clear()
        state = store.load()
        if state and not self._exists(state):
            state = None
            store.clear()
        resumed = state is not None
        if state is None:
            state = self._start(path, stat.st_size, name, target, description, type_, framework, metadata)
            store.save(state)
        exp = Experiment(self.project, self.client.call("getExperiment", {"projectId": self.project.id, "experimentId": state["experimentId"]}))
        ref = {"projectId": self.project.id, "experimentId": state["experimentId"], "artifactId": state["artifactId"]}
        artifact = self.client.call("getArtifact", ref)
        if resumed and artifact["status"] == "UPLOADING":
            # The saved presigned URLs may have expired (they live an hour): fresh ones, same parts.
            state["plan"] = self.client.call("renewArtifactUpload", ref)["upload"]
            store.save(state)
        if artifact["status"] == "UPLOADING":
            self._send(state, store, parallel, timeout)
        elif state.get("completionJobId"):
            # Interrupted while S3 assembled the parts, which has ended since: its outcome.
            self.project.job(state["completionJobId"]).wait(timeout, self.progress, self._assembling(len(state["done"])))
        if not wait:
            store.clear()
            return exp.refresh()
        store.clear()
        exp.wait_for_ingestion(state["artifactId"], timeout)
        return exp

    def _exists(self, state: dict[str, Any]) -> bool:
        try:
            self.client.call("getArtifact", {"projectId": self.project.id, "experimentId": state["experimentId"], "artifactId": state["artifactId"]})
            return True
        except ApiError as error:
            if error.status == 404:
                return False
            raise

    def _start(self, path: Path, size: int, name: str | None, target: str | None, description: str | None, type_: str, framework: str | None, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        sha256 = sha256_of(path)
        if target:
            exp = self.project.experiments.get(target)
            if metadata:
                exp.update_metadata(metadata)
            created_here = False
        else:
            exp = self.project.experiments.create(name or path.stem, description, metadata)
            created_here = True
        body: _api.CreateArtifactBody = {"type": type_, "fileName": path.name, "sizeBytes": size, "sha256": sha256}
        if framework:
            body["framework"] = framework
        try:
            created: _api.CreateArtifactResult = self.client.call("createArtifact", {"projectId": self.project.id, "experimentId": exp.id}, body=body)
        except ApiError:
            # The API refused the artifact (unknown type, missing framework …): do not leave behind
            # the empty experiment created a moment ago.
            if created_here:
                try:
                    exp.delete(wait=False)  # gone at once; its (no) artifacts go in the job
                except ByomError:
                    pass
            raise
        return {
            "version": 1,
            "file": str(path),
            "sizeBytes": size,
            "projectId": self.project.id,
            "experimentId": exp.id,
            "artifactId": created["artifact"]["artifactId"],
            "plan": created["upload"],
            "done": [],
        }

    def _send(self, state: dict[str, Any], store: StateStore, parallel: int, timeout: float) -> None:
        plan, size = state["plan"], state["sizeBytes"]
        http = self.client.transport.http
        ref = {"projectId": self.project.id, "experimentId": state["experimentId"], "artifactId": state["artifactId"]}
        if "multipart" not in plan:
            with Progress(size, self.path.name, self.progress) as bar:
                put_single(http, self.path, size, plan, bar.add)
            return
        part_size = plan["multipart"]["partSizeBytes"]
        done = list(state["done"])
        done_bytes = sum(min(part_size, size - (p["partNumber"] - 1) * part_size) for p in done)

        def on_part_done(part: dict[str, Any]) -> None:
            done.append(part)
            store.save({**state, "done": list(done)})

        stop = os.environ.get("BYOM_SDK_STOP_AFTER_PARTS")
        with Progress(size, self.path.name, self.progress, initial=done_bytes) as bar:
            parts = put_multipart(http, self.path, size, plan, done, on_part_done, bar.add, parallel, int(stop) if stop else None)
        self._complete(state, store, ref, parts, timeout)

    def _complete(self, state: dict[str, Any], store: StateStore, ref: dict[str, str], parts: list[dict[str, Any]], timeout: float) -> Job:
        """S3 assembles the parts in a registry job (minutes for a large object). Its id is saved
        with the upload's state, so an upload interrupted while it runs waits for that job when
        run again instead of completing twice; a job that FAILED is asked for once more (the API
        checks the parts again and a job that fails again raises JobFailed)."""
        job = None
        if state.get("completionJobId"):
            job = self.project.job(state["completionJobId"])
            if job.status == "FAILED":
                job = None
        if job is None:
            job = Job(self.client, self.project.id, self.client.call("completeArtifactUpload", ref, body={"parts": parts}))
            state.update(done=parts, completionJobId=job.id)
            store.save(state)
        return job.wait(timeout, self.progress, self._assembling(len(parts)))

    def _assembling(self, parts: int) -> str:
        return f"assembling {parts} parts of {self.path.name}"


class Models(_InProjectList):
    def list(self) -> list[Model]:
        return [Model(self.project, m) for m in self.client.transport.pages("listModels", {"projectId": self.project.id})]

    def create(self, name: str, description: str | None = None) -> Model:
        body: _api.CreateModelBody = {"name": name}
        if description is not None:
            body["description"] = description
        return Model(self.project, self.client.call("createModel", {"projectId": self.project.id}, body=body))

    def get(self, name_or_id: str) -> Model:
        if _is_id(name_or_id, "mdl"):
            return Model(self.project, self.client.call("getModel", {"projectId": self.project.id, "modelId": name_or_id}))
        return _one([m for m in self.list() if m.name == name_or_id], "model", name_or_id, "project.models.list()")

    def get_or_create(self, name: str, description: str | None = None) -> Model:
        try:
            return self.get(name)
        except ApiError as error:
            if error.code != "NOT_FOUND":
                raise
        try:
            return self.create(name, description)
        except ApiError as error:
            if error.code == "CONFLICT":  # created meanwhile by someone else
                return self.get(name)
            raise


class Model(_InProject):
    data: _api.RegisteredModel
    _id_key = "modelId"

    def register(self, experiment: Experiment | str) -> ModelVersion:
        experiment_id = experiment.id if isinstance(experiment, Experiment) else self.project.experiments.get(experiment).id
        created = self.client.call("registerModelVersion", {"projectId": self.project.id, "modelId": self.id}, body={"experimentId": experiment_id})
        return ModelVersion(self, created)

    def versions(self) -> list[ModelVersion]:
        return [ModelVersion(self, v) for v in self.client.transport.pages("listModelVersions", {"projectId": self.project.id, "modelId": self.id})]

    def version(self, number: int) -> ModelVersion:
        return ModelVersion(self, self.client.call("getModelVersion", {"projectId": self.project.id, "modelId": self.id, "version": number}))

    def latest(self) -> ModelVersion:
        versions = self.versions()
        if not versions:
            raise ApiError(404, "NOT_FOUND", f"Model {self.name} has no versions yet: register an experiment first.")
        return max(versions, key=lambda v: v.number)


class ModelVersion(_Resource):
    data: _api.ModelVersion

    def __init__(self, model: Model, data: _api.ModelVersion) -> None:
        super().__init__(model.client, data)
        self.model = model

    @property
    def id(self) -> str:
        return f"{self.model.name}@{self.number}"

    @property
    def number(self) -> int:
        return self.data["version"]

    @property
    def experiment(self) -> Experiment:
        return self.model.project.experiments.get(self.data["experimentId"])

    def deploy(self, name: str | None = None, **options: Any) -> Deployment:
        """Deploys this version alone (mode single); options as for Deployments.create."""
        return self.model.project.deployments.create([self], name or f"{self.model.name}-v{self.number}", **options)


def _capture(percent: float, baseline_rows: int | None) -> dict[str, Any]:
    """The API's `capture` setting; the API checks the ranges (400 with the field)."""
    return {"samplePercent": percent, **({"baselineRows": baseline_rows} if baseline_rows is not None else {})}


def _instant(value: datetime | str | None) -> str | None:
    """An RFC 3339 instant for a window bound; a naive datetime is taken as UTC."""
    if value is None or isinstance(value, str):
        return value
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def _targets(
    project: Project,
    items: list[Any],
    mode: str,
    weights: Sequence[int] | None,
    runtime: str | None,
    processor: str | None,
    resources: Resources | Sequence[Resources | None] | None,
    previous: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """The API's targets. What is not given (runtime, processor, resources) is what the target at
    the same position had before (`previous`, on update), else the API's default."""
    per_target = _per_target(resources, len(items))
    explicit_weights = weights is not None
    if mode == "ab" and weights is None:
        even = 100 // len(items)
        weights = [100 - even * (len(items) - 1)] + [even] * (len(items) - 1)
    targets = []
    for i, item in enumerate(items):
        if isinstance(item, ModelVersion):
            target: dict[str, Any] = {"modelId": item.model.id, "version": item.number}
        elif isinstance(item, tuple):
            model, number = item
            model_id = model.id if isinstance(model, Model) else project.models.get(model).id
            target = {"modelId": model_id, "version": int(number)}
        else:
            target = dict(item)
        old = previous[i] if previous and i < len(previous) else {}
        for key, value in (("runtime", runtime or old.get("runtime")), ("processor", processor or old.get("processor"))):
            if value and key not in target:
                target[key] = value
        size = per_target[i] if per_target[i] is not None else old.get("resources")
        if size is not None and "resources" not in target:
            target["resources"] = size
        if "resources" in target:
            target["resources"] = _resources_body(target["resources"])
        if mode == "ab" and weights is not None and ("weight" not in target or explicit_weights):
            target["weight"] = int(weights[i])
        if mode == "champion_challenger" and "role" not in target:
            target["role"] = "champion" if i == 0 else "challenger"
        targets.append(target)
    return targets


def _per_target(resources: Resources | Sequence[Resources | None] | None, count: int) -> list[Resources | None]:
    if resources is None or isinstance(resources, Mapping):
        return [resources] * count
    sizes = list(resources)
    if len(sizes) != count:
        raise ByomError(f"resources= has {len(sizes)} entries for {count} targets: give one per target, or one mapping for all.")
    return sizes


def _resources_body(resources: Resources) -> dict[str, Any]:
    """The API's spelling: cpu is one of Fargate's sizes as a string ("0.25" … "16"), so a number
    or another spelling of one (0.5, 1, "2.0") is written that way; everything else goes as given
    for the API to check."""
    body = {k: dict(v) if isinstance(v, Mapping) else v for k, v in resources.items()}
    cpu = body.get("cpu")
    if not isinstance(cpu, bool) and isinstance(cpu, (int, float, str)):
        try:
            body["cpu"] = format(float(cpu), "g")
        except ValueError:
            pass  # not a number: the API says which values it takes
    return body


class Deployment(_InProject):
    data: _api.Deployment
    _id_key = "deploymentId"

    def __init__(self, project: Project, data: _api.Deployment, passphrase: str | None = None) -> None:
        super().__init__(project, data)
        #: Sent as `Authorization: Bearer …` when scoring; default BYOM_PASSPHRASE.
        self.passphrase = passphrase or os.environ.get("BYOM_PASSPHRASE")
        self._schema: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return self.data["status"]

    @property
    def endpoint_url(self) -> str | None:
        return self.data["endpointUrl"]

    @property
    def _params(self) -> dict[str, str]:
        return {"projectId": self.project.id, "deploymentId": self.id}

    def refresh(self) -> Deployment:
        try:
            self.data = self.client.call("getDeployment", self._params)
        except ApiError as error:
            # A deleted deployment may disappear rather than show DELETED.
            if error.status == 404 and self.data["status"] == "DELETING":
                self.data = {**self.data, "status": "DELETED"}
            else:
                raise
        return self

    def wait(self, until: Any = None, timeout: float = 900, progress: bool | None = None, shown_from: int = 0) -> Deployment:
        """Polls until `until(deployment_json)` (default: a settled status), printing each new event.

        Raises DeploymentFailed when the default wait ends in anything but HEALTHY.
        """
        show = self.client.progress if progress is None else progress
        shown = shown_from
        done = until or (lambda d: d["status"] in SETTLED)

        def fetch() -> Any:
            return self.refresh().data

        def on_poll(data: Any) -> None:
            nonlocal shown
            if show:
                import sys

                for event in data["events"][shown:]:
                    print(f"{event['at'][11:19]}  {event['status']:<10}  {event['message']}", file=sys.stderr, flush=True)
            shown = max(shown, len(data["events"]))

        wait_until(fetch, done, timeout, lambda d: f"Deployment {self.name} is still {d['status']}", on_poll, first=self.data, initial_delay=0.3)
        if until is None and self.status != "HEALTHY" and self.status != "DELETED":
            raise DeploymentFailed(
                f"Deployment {self.name} ({self.id}) is {self.status}: {self.data.get('failureReason') or 'no reason given'}", dict(self.data)
            )
        return self

    def update(
        self,
        targets: Sequence[ModelVersion | Mapping[str, Any] | tuple[Any, int]] | ModelVersion | None = None,
        weights: Sequence[int] | None = None,
        resources: Resources | Sequence[Resources | None] | None = None,
        wait: bool = True,
        timeout: float = 900,
        progress: bool | None = None,
    ) -> Deployment:
        """Swaps the model versions, A/B weights or resources without downtime: the old revision
        serves until the new one is live. `targets` default to the current ones; `resources`
        (as for create) replaces a target's size, and a target given none keeps what it had.
        A refused change is ApiError (nothing changes). With `wait`, returns once the new
        revision serves; raises DeploymentFailed if it fails (the old one keeps serving)."""
        self.refresh()
        current = list(self.data["targets"])
        if targets is None:
            # The current targets, sized by `resources` if given (else by what they had).
            items: list[Any] = [{k: v for k, v in t.items() if k != "resources"} for t in current]
        else:
            items = [targets] if isinstance(targets, ModelVersion) else list(targets)
        body: dict[str, Any] = {"targets": _targets(self.project, items, self.data["mode"], weights, None, None, resources, current)}
        return self._new_revision(body, wait, timeout, progress)

    def set_capture(
        self, percent: float, baseline_rows: int | None = None, wait: bool = True, timeout: float = 900, progress: bool | None = None
    ) -> Deployment:
        """Captures `percent` (0–100; 0 turns capture off) of score requests with their answers,
        from a new revision on (the live one serves until then); `baseline_rows` changes how many
        first captured rows are the drift baseline. A refused value is ApiError 400 (nothing changes)."""
        return self._new_revision({"capture": _capture(percent, baseline_rows)}, wait, timeout, progress)

    def _new_revision(self, body: dict[str, Any], wait: bool, timeout: float, progress: bool | None) -> Deployment:
        before = len(self.data["events"])
        self.data = self.client.call("updateDeployment", self._params, body=body)
        self._schema = None
        revision = self.data["revision"]
        if not wait:
            return self
        self.wait(
            until=lambda d: d["liveRevision"] >= revision or d["failureReason"] is not None or d["status"] in ("FAILED", "DELETED"),
            timeout=timeout,
            progress=progress,
            shown_from=before,
        )
        if self.status != "HEALTHY" or self.data["liveRevision"] < revision:
            raise DeploymentFailed(
                f"Revision {revision} of {self.name} is not serving (status {self.status}"
                + (f": {self.data['failureReason']}" if self.data.get("failureReason") else "")
                + ").",
                dict(self.data),
            )
        return self

    # Monitoring (docs/monitoring.md) -------------------------------------------------------------

    def metrics(self, start: datetime | str | None = None, end: datetime | str | None = None, period: int | None = None) -> _api.DeploymentMetrics:
        """Requests, rows, 4xx/5xx, latency and scoring-time percentiles per `period` seconds
        (a multiple of 60) from `start` to `end` (default: the last hour), for the deployment and
        each target, and the champion/challenger comparison."""
        query = {"from": _instant(start), "to": _instant(end), "period": period}
        return self.client.call("getDeploymentMetrics", self._params, query=query)

    def drift(self, start: datetime | str | None = None, end: datetime | str | None = None) -> _api.DriftReport:
        """Per target and column: population stability index, missing-rate change, row counts and
        a drifted flag, of the rows captured from `start` to `end` (default: the last 7 days)
        against each version's baseline."""
        return self.client.call("getDeploymentDrift", self._params, query={"from": _instant(start), "to": _instant(end)})

    def delete(self, wait: bool = True, timeout: float = 300, progress: bool | None = None) -> Deployment:
        before = len(self.data["events"])
        self.data = self.client.call("deleteDeployment", self._params)
        if wait:
            self.wait(until=lambda d: d["status"] in ("DELETED", "FAILED"), timeout=timeout, progress=progress, shown_from=before)
            if self.status != "DELETED":
                raise DeploymentFailed(f"Deleting {self.name} ended {self.status}: {self.data.get('failureReason') or 'no reason given'}", dict(self.data))
        return self

    # Scoring -----------------------------------------------------------------------------------

    def _scorer(self, passphrase: str | None) -> Scorer:
        if not self.endpoint_url:
            self.refresh()
        if not self.endpoint_url:
            raise ByomError(
                f"Deployment {self.name} is {self.status} and has no endpoint yet."
                + (f" {self.data['failureReason']}" if self.data.get("failureReason") else "")
                + " Wait for HEALTHY: deployment.wait()."
            )
        return Scorer(self.client.transport.http, self.endpoint_url, passphrase or self.passphrase)

    def schema(self, passphrase: str | None = None) -> dict[str, Any]:
        """The scorer's `GET /model/schema`: {"inputFields": [...], "outputFields": [...]}, with dataTypes."""
        if self._schema is None:
            self._schema = self._scorer(passphrase).get("/model/schema")["schema"]
        return self._schema

    def sample_request(self, passphrase: str | None = None) -> dict[str, Any]:
        return self._scorer(passphrase).get("/model/sample_request")

    def score_rows(self, fields: Sequence[str], rows: Sequence[Sequence[Any]], passphrase: str | None = None, include_input: bool = False) -> dict[str, Any]:
        """One request as the scorer API takes it; returns its answer {"id", "fields", "score"} (strings)."""
        return self._scorer(passphrase).score_rows(fields, [[json_cell(v) for v in row] for row in rows], list(fields) if include_input else None)

    def score(self, data: Any, passphrase: str | None = None, batch_rows: int = DEFAULT_BATCH_ROWS, include_input: bool = False) -> Any:
        """Scores a DataFrame (or a list of {column: value} dicts) and returns a DataFrame whose
        columns have the types of the deployment's output schema, with the input's index. Large
        inputs go in batches of `batch_rows` rows (split further if the scorer says 413)."""
        import pandas as pd

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
        if frame.empty:
            raise ByomError("Nothing to score: the input has no rows.")
        fields = [str(c) for c in frame.columns]
        rows = [[json_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        scorer = self._scorer(passphrase)
        out_fields, scores = scorer.score_batched(fields, rows, batch_rows, fields if include_input else None)
        schema = self.schema(passphrase)
        types = {f["name"]: f["dataType"] for f in [*schema.get("inputFields", []), *schema.get("outputFields", [])]}
        return typed_frame(out_fields, scores, types, index=frame.index)


class Catalog:
    """Read the catalog: artifact types, deployable artifact types, processors, model types, runtimes."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def list(self, kind: str) -> list[_api.CatalogEntry]:
        if kind not in CATALOG_KINDS:
            raise ByomError(f"Unknown catalog kind '{kind}': one of {', '.join(CATALOG_KINDS)}.")
        return list(self.client.transport.pages("listCatalogEntries", {"kind": kind}))

    def compositions(self, artifact_type: str | None = None, framework: str | None = None) -> list[_api.Composition]:
        """Valid (deployable type, processor, model type, runtime) paths for an artifact type."""
        return self.client.call("listCompositions", query={"artifactType": artifact_type, "framework": framework})["items"]

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG_KINDS)
