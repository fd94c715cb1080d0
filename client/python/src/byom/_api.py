"""The registry API's types and operations, generated from its OpenAPI document.

Do not edit: regenerate with `python client/python/scripts/generate_api.py <openapi.json>`
(API version 1.0.0). TypedDicts describe the JSON the API
takes and returns; OPERATIONS maps each operationId to its method and path.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypeAlias
else:  # pragma: no cover
    from typing_extensions import NotRequired, TypeAlias

OPERATIONS: dict[str, tuple[str, str]] = {
    "addCatalogEntry": ("POST", "/v1/catalog/entries"),
    "attachReferenceDataset": ("PUT", "/v1/projects/{projectId}/models/{modelId}/versions/{version}/reference-dataset"),
    "completeArtifactUpload": ("POST", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/complete"),
    "createArtifact": ("POST", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts"),
    "createDeployment": ("POST", "/v1/projects/{projectId}/deployments"),
    "createExperiment": ("POST", "/v1/projects/{projectId}/experiments"),
    "createModel": ("POST", "/v1/projects/{projectId}/models"),
    "createProject": ("POST", "/v1/projects"),
    "deleteCatalogEntry": ("DELETE", "/v1/catalog/{kind}"),
    "deleteDeployment": ("DELETE", "/v1/projects/{projectId}/deployments/{deploymentId}"),
    "deleteExperiment": ("DELETE", "/v1/projects/{projectId}/experiments/{experimentId}"),
    "deleteMember": ("DELETE", "/v1/projects/{projectId}/members"),
    "deleteProject": ("DELETE", "/v1/projects/{projectId}"),
    "downloadArtifact": ("GET", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/download"),
    "getArtifact": ("GET", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}"),
    "getDeployment": ("GET", "/v1/projects/{projectId}/deployments/{deploymentId}"),
    "getDeploymentDrift": ("GET", "/v1/projects/{projectId}/deployments/{deploymentId}/drift"),
    "getDeploymentMetrics": ("GET", "/v1/projects/{projectId}/deployments/{deploymentId}/metrics"),
    "getExperiment": ("GET", "/v1/projects/{projectId}/experiments/{experimentId}"),
    "getJob": ("GET", "/v1/projects/{projectId}/jobs/{jobId}"),
    "getModel": ("GET", "/v1/projects/{projectId}/models/{modelId}"),
    "getModelVersion": ("GET", "/v1/projects/{projectId}/models/{modelId}/versions/{version}"),
    "getProject": ("GET", "/v1/projects/{projectId}"),
    "health": ("GET", "/v1/health"),
    "importMlflowModel": ("POST", "/v1/projects/{projectId}/imports/mlflow"),
    "listArtifacts": ("GET", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts"),
    "listCatalogEntries": ("GET", "/v1/catalog/{kind}"),
    "listCompositions": ("GET", "/v1/catalog/compositions"),
    "listDeployments": ("GET", "/v1/projects/{projectId}/deployments"),
    "listExperiments": ("GET", "/v1/projects/{projectId}/experiments"),
    "listMembers": ("GET", "/v1/projects/{projectId}/members"),
    "listModelVersions": ("GET", "/v1/projects/{projectId}/models/{modelId}/versions"),
    "listModels": ("GET", "/v1/projects/{projectId}/models"),
    "listProjects": ("GET", "/v1/projects"),
    "openapi": ("GET", "/v1/openapi.json"),
    "patchExperiment": ("PATCH", "/v1/projects/{projectId}/experiments/{experimentId}"),
    "putMember": ("PUT", "/v1/projects/{projectId}/members"),
    "registerModelVersion": ("POST", "/v1/projects/{projectId}/models/{modelId}/versions"),
    "renewArtifactUpload": ("POST", "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/upload"),
    "updateDeployment": ("PATCH", "/v1/projects/{projectId}/deployments/{deploymentId}"),
}


class Artifact(TypedDict):
    artifactId: str
    projectId: str
    experimentId: str
    type: str
    fileName: str
    sizeBytes: int
    sha256: str | None  # Verified SHA-256 (hex) once ingested; the declared one before
    framework: str | None
    status: Literal["UPLOADING", "INGESTING", "READY", "FAILED"]
    failureReason: str | None
    notices: list[str]  # What to do before this artifact can be deployed, if anything
    model: ArtifactModel | None  # What ingestion read from an MLflow model's MLmodel
    createdBy: str
    createdAt: str
    updatedAt: str


class ArtifactDownload(TypedDict):
    url: str
    expiresInSeconds: int


class ArtifactModel(TypedDict):
    flavors: list[str]
    framework: str  # The native MLflow flavor (sklearn, xgboost …), or python_function
    pythonVersion: str | None
    loaderModule: str | None  # python_function.loader_module
    mlflowVersion: str | None
    mlmodelPath: str  # Where MLmodel was found inside the zip
    hasSignature: bool


class ArtifactUploadMultipart(TypedDict):
    multipart: ArtifactUploadMultipartMultipart


class ArtifactUploadMultipartMultipart(TypedDict):
    uploadId: str
    partSizeBytes: int
    parts: list[ArtifactUploadMultipartMultipartPartsItem]


class ArtifactUploadMultipartMultipartPartsItem(TypedDict):
    partNumber: int
    url: str


class ArtifactUploadPUT(TypedDict):
    method: Literal["PUT"]
    url: str
    headers: dict[str, str]  # Send these headers with the PUT, unchanged


class ArtifactUploadRenewal(TypedDict):
    upload: ArtifactUpload
    expiresInSeconds: int


class AttachReferenceDatasetBody(TypedDict):
    format: Literal["csv", "parquet"]  # csv (a header row of column names) or parquet
    sizeBytes: int  # The file's size; the upload must send exactly this many bytes


class CatalogArtifactProcessor(TypedDict):
    name: str
    deployableArtifactType: str
    modelType: str
    image: str
    env: NotRequired[dict[str, str]]
    imageCredentialsArn: NotRequired[str]
    pinnedImage: NotRequired[str]  # What tasks pull: this account's ECR repository@sha256:…
    imageStatus: NotRequired[Literal["READY", "IMPORTING", "FAILED"]]
    imageStatusReason: NotRequired[str]
    executionRoleArn: NotRequired[str]  # The role ECS pulls this entry's image with: its ECR repository and nothing else
    importJobId: NotRequired[str]
    builtIn: bool  # Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten
    createdAt: str
    createdBy: str


class CatalogArtifactType(TypedDict):
    name: str
    readableName: str
    builtIn: bool  # Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten
    createdAt: str
    createdBy: str


class CatalogDeployableArtifactType(TypedDict):
    name: str
    readableName: str
    artifactType: str
    builtIn: bool  # Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten
    createdAt: str
    createdBy: str


class CatalogModelType(TypedDict):
    name: str
    readableName: str
    builtIn: bool  # Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten
    createdAt: str
    createdBy: str


class CatalogRuntime(TypedDict):
    name: str
    modelType: str
    image: str
    env: dict[str, str]
    settableEnv: NotRequired[list[SettableEnv]]
    frameworks: list[str]
    healthPath: NotRequired[str]
    capabilities: NotRequired[list[Literal["passphrase", "shadow", "metrics", "capture", "columnar", "v2"]]]
    imageCredentialsArn: NotRequired[str]
    pinnedImage: NotRequired[str]  # What tasks pull: this account's ECR repository@sha256:…
    imageStatus: NotRequired[Literal["READY", "IMPORTING", "FAILED"]]
    imageStatusReason: NotRequired[str]
    executionRoleArn: NotRequired[str]  # The role ECS pulls this entry's image with: its ECR repository and nothing else
    importJobId: NotRequired[str]
    builtIn: bool  # Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten
    createdAt: str
    createdBy: str


class CompleteArtifactUploadBody(TypedDict):
    parts: list[CompleteArtifactUploadBodyPartsItem]


class CompleteArtifactUploadBodyPartsItem(TypedDict):
    partNumber: int
    etag: str


class Composition(TypedDict):
    deployableArtifactType: str
    processor: str
    modelType: str
    runtime: str
    frameworks: list[str]  # The frameworks the runtime serves


class Compositions(TypedDict):
    artifactType: str
    items: list[Composition]


class CreateArtifactResult(TypedDict):
    artifact: Artifact
    upload: ArtifactUpload


class CreateDeploymentBodyAb(TypedDict):
    name: str
    security: NotRequired[DeploymentSecurityInput]
    capture: NotRequired[CreateDeploymentBodyAbCapture]  # Request capture; default off, baselineRows 1000
    mode: Literal["ab"]
    targets: list[CreateDeploymentBodyAbTargetsItem]  # Each with its weight in percent; the weights add up to 100


class CreateDeploymentBodyAbTargetsItem(TypedDict):
    modelId: str
    version: int
    runtime: NotRequired[str]  # A runtime of the catalog; default: the first that serves the model's framework
    processor: NotRequired[str]  # An artifact processor of the catalog; default: the one for the artifact's type
    weight: int
    resources: NotRequired[DeploymentResources]
    env: NotRequired[dict[str, str]]


class CreateDeploymentBodyChampionChallenger(TypedDict):
    name: str
    security: NotRequired[DeploymentSecurityInput]
    capture: NotRequired[CreateDeploymentBodyChampionChallengerCapture]  # Request capture; default off, baselineRows 1000
    mode: Literal["champion_challenger"]
    targets: Any


class CreateDeploymentBodySingle(TypedDict):
    name: str
    security: NotRequired[DeploymentSecurityInput]
    capture: NotRequired[CreateDeploymentBodySingleCapture]  # Request capture; default off, baselineRows 1000
    mode: Literal["single"]
    targets: list[CreateDeploymentBodySingleTargetsItem]


class CreateDeploymentBodySingleCapture(TypedDict):
    samplePercent: float
    baselineRows: NotRequired[int]


class CreateDeploymentBodySingleTargetsItem(TypedDict):
    modelId: str
    version: int
    runtime: NotRequired[str]  # A runtime of the catalog; default: the first that serves the model's framework
    processor: NotRequired[str]  # An artifact processor of the catalog; default: the one for the artifact's type
    resources: NotRequired[DeploymentResources]
    env: NotRequired[dict[str, str]]
    weight: NotRequired[Literal[100]]


class CreateExperimentBody(TypedDict):
    name: str
    description: NotRequired[str]
    metadata: NotRequired[dict[str, MetadataValueInput]]


class CreateProjectBody(TypedDict):
    name: str
    description: NotRequired[str]


class DeleteCatalogEntryQuery(TypedDict):
    name: NotRequired[str]  # The entry's name, e.g. python/mlflow


class DeleteMemberQuery(TypedDict):
    principal: NotRequired[str]


class Deployment(TypedDict):
    deploymentId: str
    projectId: str
    name: str
    mode: Literal["single", "ab", "champion_challenger"]
    targets: list[DeploymentTarget]
    security: DeploymentSecurity
    capture: DeploymentCapture  # Request capture and the drift baseline's size (docs/monitoring.md)
    status: Literal["PENDING", "PROCESSING", "STARTING", "HEALTHY", "UNHEALTHY", "FAILED", "DELETING", "DELETED"]
    failureReason: str | None
    endpointUrl: str | None  # Score with POST <endpointUrl>/model/score
    serving: list[DeploymentServingItem]  # What answers requests now
    revision: int
    liveRevision: int
    events: list[DeploymentEventsItem]
    createdAt: str
    updatedAt: str
    createdBy: str


class DeploymentCapture(TypedDict):
    samplePercent: float
    baselineRows: int


class DeploymentEventsItem(TypedDict):
    at: str
    status: Literal["PENDING", "PROCESSING", "STARTING", "HEALTHY", "UNHEALTHY", "FAILED", "DELETING", "DELETED"]
    message: str


class DeploymentMetrics(TypedDict):
    deploymentId: str
    start: str  # The window's start (from), widened to a whole period
    end: str  # The window's end (to), widened to a whole period
    periodSeconds: int
    timestamps: list[str]  # The start of each period
    deployment: DeploymentMetricsDeployment  # Callers' traffic to the deployment (shadow copies excluded)
    targets: list[DeploymentMetricsTargetsItem]
    comparison: DeploymentMetricsComparison | None  # Champion/challenger only: how the challenger's answers to the shadow copies compare


class DeploymentMetricsComparison(TypedDict):
    champion: str
    challenger: str
    tolerance: float  # Numbers agree when |a - b| <= tolerance * max(1, |a|, |b|)
    totals: DeploymentMetricsComparisonTotals
    series: DeploymentMetricsComparisonSeries


class DeploymentMetricsComparisonSeries(TypedDict):
    copies: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    failures: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    rowsCompared: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    rowsAgreed: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    agreement: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    championLatencyP50Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    championLatencyP99Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    challengerLatencyP50Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    challengerLatencyP99Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    meanAbsDiff: dict[str, list[float | None]]


class DeploymentMetricsComparisonTotals(TypedDict):
    copies: float | None
    failures: float | None
    rowsCompared: float | None
    rowsAgreed: float | None
    agreement: float | None
    championLatencyP50Ms: float | None
    championLatencyP99Ms: float | None
    challengerLatencyP50Ms: float | None
    challengerLatencyP99Ms: float | None
    meanAbsDiff: dict[str, float | None]  # Per numeric output column


class DeploymentMetricsDeployment(TypedDict):
    totals: DeploymentMetricsDeploymentTotals  # Over the whole window
    series: DeploymentMetricsDeploymentSeries


class DeploymentMetricsDeploymentSeries(TypedDict):
    requests: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    rows: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    errors4xx: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    errors5xx: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    latencyP50Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    latencyP90Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    latencyP99Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    scoringTimeP50Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    scoringTimeP99Ms: list[float | None]  # One value per period, aligned with timestamps; null where there was no data
    captureDropped: list[float | None]  # One value per period, aligned with timestamps; null where there was no data


class DeploymentMetricsDeploymentTotals(TypedDict):
    requests: float | None
    rows: float | None
    errors4xx: float | None
    errors5xx: float | None
    latencyP50Ms: float | None
    latencyP90Ms: float | None
    latencyP99Ms: float | None
    scoringTimeP50Ms: float | None
    scoringTimeP99Ms: float | None
    captureDropped: float | None


class DeploymentMetricsTargetsItem(TypedDict):
    totals: DeploymentMetricsTargetsItemTotals  # Over the whole window
    series: DeploymentMetricsTargetsItemSeries
    target: str  # The runtime's MODEL_ID, <modelId>-v<version>
    modelId: str
    version: int
    role: Literal["primary", "champion", "challenger"]


class DeploymentReplicas(TypedDict):
    min: NotRequired[int]  # Replicas always running (spread over the AZs); default 1
    max: NotRequired[int]  # Autoscaling's upper bound, at most the installation's limit; default min


class DeploymentResources025(TypedDict):
    cpu: Literal["0.25"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[512, 1024, 2048]]  # Memory of one replica in MiB, one Fargate runs 0.25 vCPU with; default 2048
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources05(TypedDict):
    cpu: Literal["0.5"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[1024, 2048, 3072, 4096]]  # Memory of one replica in MiB, one Fargate runs 0.5 vCPU with; default 2048
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources1(TypedDict):
    cpu: NotRequired[Literal["1"]]  # vCPUs of one replica (a Fargate size); default 1
    memoryMiB: NotRequired[Literal[2048, 3072, 4096, 5120, 6144, 7168, 8192]]  # Memory of one replica in MiB, one Fargate runs 1 vCPU with; default 2048
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources16(TypedDict):
    cpu: Literal["16"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[32768, 40960, 49152, 57344, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880]]  # Memory of one replica in MiB, one Fargate runs 16 vCPU with; default 32768
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources2(TypedDict):
    cpu: Literal["2"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384]]  # Memory of one replica in MiB, one Fargate runs 2 vCPU with; default 4096
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources4(TypedDict):
    cpu: Literal["4"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 17408, 18432, 19456, 20480, 21504, 22528, 23552, 24576, 25600, 26624, 27648, 28672, 29696, 30720]]  # Memory of one replica in MiB, one Fargate runs 4 vCPU with; default 8192
    replicas: NotRequired[DeploymentReplicas]


class DeploymentResources8(TypedDict):
    cpu: Literal["8"]  # vCPUs of one replica (a Fargate size)
    memoryMiB: NotRequired[Literal[16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440]]  # Memory of one replica in MiB, one Fargate runs 8 vCPU with; default 16384
    replicas: NotRequired[DeploymentReplicas]


class DeploymentSecurity(TypedDict):
    mode: Literal["none", "passphrase"]


class DeploymentSecurityInputNone(TypedDict):
    mode: Literal["none"]


class DeploymentSecurityInputPassphrase(TypedDict):
    mode: Literal["passphrase"]
    passphrase: str  # Scoring requires 'Authorization: Bearer <passphrase>'. Only a salted hash is stored.


class DeploymentServingItem(TypedDict):
    modelId: str
    modelName: str
    version: int
    runtime: str
    processor: str
    weight: int
    role: Literal["primary", "champion", "challenger"]
    resources: DeploymentServingItemResources  # The size and replica bounds it runs with
    replicas: NotRequired[DeploymentServingItemReplicas]


class DeploymentServingItemReplicas(TypedDict):
    desired: int  # Replicas asked for now (autoscaling moves it between min and max)
    running: int  # Replicas started
    healthy: int  # Replicas passing the /readyz health check


class DeploymentServingItemResources(TypedDict):
    cpu: Literal["1", "2", "4", "8", "16", "0.25", "0.5"]
    memoryMiB: int
    replicas: DeploymentServingItemResourcesReplicas


class DeploymentServingItemResourcesReplicas(TypedDict):
    min: int
    max: int


class DeploymentTarget(TypedDict):
    modelId: str
    version: int
    runtime: NotRequired[str]  # A runtime of the catalog; default: the first that serves the model's framework
    processor: NotRequired[str]  # An artifact processor of the catalog; default: the one for the artifact's type
    weight: NotRequired[int]  # Mode ab: the target's share of traffic in percent; the weights add up to 100
    role: NotRequired[Literal["champion", "challenger"]]  # Mode champion_challenger: the champion answers, the challenger gets shadow copies
    resources: NotRequired[DeploymentResources]
    env: NotRequired[dict[str, str]]


class DriftReport(TypedDict):
    deploymentId: str
    window: DriftReportWindow  # The window's rows: captured at or after start and before end
    thresholds: DriftReportThresholds
    capture: DriftReportCapture
    targets: list[DriftReportTargetsItem]


class DriftReportCapture(TypedDict):
    samplePercent: float
    baselineRows: int


class DriftReportTargetsItem(TypedDict):
    modelId: str
    modelName: str
    version: int
    role: Literal["primary", "champion", "challenger"]
    baseline: DriftReportTargetsItemBaseline
    rows: int  # Captured rows in the window, after the baseline's
    drifted: bool | None  # Any column drifted; null before there is anything to compare
    columns: list[DriftReportTargetsItemColumnsItem]


class DriftReportTargetsItemBaseline(TypedDict):
    source: Literal["reference", "captured"]  # The version's reference dataset, or (none attached) its first captured rows
    rows: int  # Rows in the baseline so far
    wanted: int  # The deployment's baselineRows (captured baselines only)


class DriftReportTargetsItemColumnsItem(TypedDict):
    name: str
    kind: Literal["input", "output"]
    type: str  # The schema's column type
    psi: float | None  # Population stability index; null when either side has no values
    missingRate: DriftReportTargetsItemColumnsItemMissingRate
    rows: DriftReportTargetsItemColumnsItemRows
    drifted: bool
    thresholds: DriftReportTargetsItemColumnsItemThresholds
    bins: list[DriftReportTargetsItemColumnsItemBinsItem]  # Share of the non-missing values per bin: baseline deciles, or categories plus (other)


class DriftReportTargetsItemColumnsItemBinsItem(TypedDict):
    bin: str
    baseline: float
    current: float


class DriftReportTargetsItemColumnsItemMissingRate(TypedDict):
    baseline: float
    current: float
    change: float


class DriftReportTargetsItemColumnsItemRows(TypedDict):
    baseline: int
    current: int


class DriftReportThresholds(TypedDict):
    psi: float  # A PSI above this is drift
    missingRateChange: float  # A missing rate that moves by more than this (0–1) is drift


class DriftReportWindow(TypedDict):
    start: str
    end: str


class Error(TypedDict):
    error: ErrorError


class ErrorError(TypedDict):
    code: str
    message: str
    details: list[Any]


class Experiment(TypedDict):
    experimentId: str
    projectId: str
    name: str
    description: str
    metadata: dict[str, MetadataValue]
    createdAt: str
    updatedAt: str
    createdBy: str
    registeredAs: ExperimentRegisteredAs | None  # The model version this experiment became, or null


class ExperimentRegisteredAs(TypedDict):
    modelId: str
    version: int


GetDeploymentDriftQuery = TypedDict("GetDeploymentDriftQuery", {
    "from": NotRequired[str],  # Start of the window (ISO 8601); default: 7 days before `to`
    "to": NotRequired[str],  # End of the window, exclusive (ISO 8601); default: now
})


GetDeploymentMetricsQuery = TypedDict("GetDeploymentMetricsQuery", {
    "from": NotRequired[str],  # RFC 3339 start of the window; default: an hour before to
    "to": NotRequired[str],  # RFC 3339 end of the window; default: now
    "period": NotRequired[int],
})


class HealthResult(TypedDict):
    status: Literal["ok"]
    version: str


class ImportMlflowModelBody(TypedDict):
    trackingUri: str
    modelName: str
    version: int | str  # The registered model version, e.g. 3


class Job(TypedDict):
    jobId: str
    projectId: str
    kind: Literal["delete-project", "delete-experiment", "complete-upload", "import-mlflow", "import-image"]
    status: Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]
    progress: JobProgress
    result: NotRequired[Any]  # What the job produced, once SUCCEEDED (null before)
    error: JobError | None  # Why the job FAILED (null otherwise)
    createdBy: str
    createdAt: str
    updatedAt: str


class JobAccepted(TypedDict):
    jobId: str
    status: Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]
    location: str


class JobError(TypedDict):
    code: str
    message: str


class JobProgress(TypedDict):
    done: int
    total: int | None
    message: str


class ListArtifactsResult(TypedDict):
    items: list[Artifact]
    nextCursor: str | None


class ListCatalogEntriesResult(TypedDict):
    items: list[CatalogEntry]
    nextCursor: str | None


class ListCompositionsQuery(TypedDict):
    artifactType: NotRequired[str]  # e.g. python/mlflow
    framework: NotRequired[str]  # Only runtimes that serve this framework


class ListDeploymentsResult(TypedDict):
    items: list[Deployment]
    nextCursor: str | None


class ListExperimentsResult(TypedDict):
    items: list[Experiment]
    nextCursor: str | None


class ListMembersResult(TypedDict):
    items: list[ProjectMember]
    nextCursor: str | None


class ListModelVersionsResult(TypedDict):
    items: list[ModelVersion]
    nextCursor: str | None


class ListModelsResult(TypedDict):
    items: list[RegisteredModel]
    nextCursor: str | None


class ListProjectsQuery(TypedDict):
    limit: NotRequired[int]
    cursor: NotRequired[str]  # The nextCursor of the previous page, unchanged; any other value is a 400 INVALID_CURSOR


class ListProjectsResult(TypedDict):
    items: list[Project]
    nextCursor: str | None


class MetadataValueBoolValue(TypedDict):
    bool_value: bool


class MetadataValueDoubleValue(TypedDict):
    double_value: float


class MetadataValueInputInt64Value(TypedDict):
    int64_value: int | str  # A JSON integer or a decimal string; returned as a string


class MetadataValueInputJsonValue(TypedDict):
    json_value: Any  # Any JSON value


class MetadataValueInt64Value(TypedDict):
    int64_value: str


class MetadataValueJsonValue(TypedDict):
    json_value: NotRequired[Any]


class MetadataValueStringValue(TypedDict):
    string_value: str


class MetadataValueTimestampValue(TypedDict):
    timestamp_value: str


class ModelVersion(TypedDict):
    modelId: str
    projectId: str
    version: int
    experimentId: str
    artifact: ModelVersionArtifact | None  # Exactly the bytes this version is; null if the experiment had no READY artifact
    createdAt: str
    createdBy: str


class ModelVersionArtifact(TypedDict):
    artifactId: str
    type: str
    sha256: str
    sizeBytes: int
    objectKey: str
    etag: str
    versionId: str | None  # The S3 object version (versioned buckets)


class ModelVersionWithExperiment(TypedDict):
    modelId: str
    projectId: str
    version: int
    experimentId: str
    artifact: ModelVersionWithExperimentArtifact | None  # Exactly the bytes this version is; null if the experiment had no READY artifact
    createdAt: str
    createdBy: str
    experiment: Experiment


class NewArtifactProcessor(TypedDict):
    name: str
    deployableArtifactType: str  # The name of an existing deployable artifact type
    modelType: str  # The name of an existing model type
    image: str
    imageCredentialsArn: NotRequired[str]  # A Secrets Manager secret holding {"username","password"} for a private registry
    env: NotRequired[dict[str, str]]  # Environment variables every run gets
    kind: Literal["artifact-processors"]


class NewArtifactType(TypedDict):
    name: str
    readableName: str
    kind: Literal["artifact-types"]


class NewDeployableArtifactType(TypedDict):
    name: str
    readableName: str
    artifactType: str  # The name of an existing artifact type
    kind: Literal["deployable-artifact-types"]


class NewModelType(TypedDict):
    name: str
    readableName: str
    kind: Literal["model-types"]


class NewRuntime(TypedDict):
    name: str
    modelType: str  # The name of an existing model type
    image: str
    imageCredentialsArn: NotRequired[str]  # A Secrets Manager secret holding {"username","password"} for a private registry
    healthPath: NotRequired[str]  # The GET path that answers 200 once the runtime is ready (default /model/schema)
    capabilities: NotRequired[list[Literal["passphrase", "shadow", "metrics", "capture", "columnar", "v2"]]]
    env: NotRequired[dict[str, str]]
    frameworks: NotRequired[list[str]]
    settableEnv: NotRequired[list[SettableEnv]]  # Variables a deployment target may set in its `env`, over `env`
    kind: Literal["runtimes"]


class PatchExperimentBody(TypedDict):
    metadata: dict[str, MetadataValueInput]


class Project(TypedDict):
    projectId: str
    name: str
    description: str
    owner: str
    createdAt: str
    role: Literal["viewer", "editor", "owner"]  # The caller's role in this project


class ProjectMember(TypedDict):
    principal: str
    role: Literal["viewer", "editor", "owner"]
    addedAt: str


class PutMemberBody(TypedDict):
    principal: str  # An IAM principal ARN, or local:<user> in local mode
    role: Literal["viewer", "editor", "owner"]


class ReferenceDatasetUpload(TypedDict):
    modelId: str
    version: int
    format: Literal["csv", "parquet"]
    objectKey: str
    upload: ReferenceDatasetUploadUpload
    expiresAt: str


class ReferenceDatasetUploadUpload(TypedDict):
    method: Literal["PUT"]
    url: str
    headers: dict[str, str]


class RegisterModelVersionBody(TypedDict):
    experimentId: str


class RegisteredModel(TypedDict):
    modelId: str
    projectId: str
    name: str
    description: str
    createdAt: str
    createdBy: str


class SettableEnv(TypedDict):
    name: str
    description: str
    pattern: NotRequired[str]  # A regular expression the whole value must match
    allowed: NotRequired[list[str]]  # The values it may take
    secret: NotRequired[bool]  # Never shown by GET; on AWS passed through Secrets Manager


class UpdateDeploymentBody(TypedDict):
    targets: NotRequired[list[DeploymentTarget]]  # The new targets; default: the current ones (to change only capture)
    capture: NotRequired[UpdateDeploymentBodyCapture]  # New capture settings; default: unchanged


class UpdateDeploymentBodyCapture(TypedDict):
    samplePercent: float
    baselineRows: NotRequired[int]


AddCatalogEntryBody: TypeAlias = "NewCatalogEntry"
AddCatalogEntryResult: TypeAlias = "CatalogEntry"
ArtifactUpload: TypeAlias = "ArtifactUploadPUT | ArtifactUploadMultipart"
AttachReferenceDatasetResult: TypeAlias = "ReferenceDatasetUpload"
CatalogEntry: TypeAlias = "CatalogArtifactProcessor | CatalogRuntime | CatalogDeployableArtifactType | CatalogArtifactType | CatalogModelType"
CompleteArtifactUploadResult: TypeAlias = "JobAccepted"
CreateArtifactBody: TypeAlias = "Any"
CreateDeploymentBody: TypeAlias = "CreateDeploymentBodySingle | CreateDeploymentBodyAb | CreateDeploymentBodyChampionChallenger"
CreateDeploymentBodyAbCapture: TypeAlias = "CreateDeploymentBodySingleCapture"
CreateDeploymentBodyChampionChallengerCapture: TypeAlias = "CreateDeploymentBodySingleCapture"
CreateDeploymentResult: TypeAlias = "Deployment"
CreateExperimentResult: TypeAlias = "Experiment"
CreateModelBody: TypeAlias = "CreateProjectBody"
CreateModelResult: TypeAlias = "RegisteredModel"
CreateProjectResult: TypeAlias = "Project"
DeleteCatalogEntryResult: TypeAlias = "None"
DeleteDeploymentResult: TypeAlias = "Deployment"
DeleteExperimentResult: TypeAlias = "JobAccepted"
DeleteMemberResult: TypeAlias = "None"
DeleteProjectResult: TypeAlias = "JobAccepted"
DeploymentMetricsTargetsItemSeries: TypeAlias = "DeploymentMetricsDeploymentSeries"
DeploymentMetricsTargetsItemTotals: TypeAlias = "DeploymentMetricsDeploymentTotals"
DeploymentResources: TypeAlias = "DeploymentResources025 | DeploymentResources05 | DeploymentResources1 | DeploymentResources2 | DeploymentResources4 | DeploymentResources8 | DeploymentResources16"
DeploymentSecurityInput: TypeAlias = "DeploymentSecurityInputNone | DeploymentSecurityInputPassphrase"
DownloadArtifactResult: TypeAlias = "ArtifactDownload"
DriftReportTargetsItemColumnsItemThresholds: TypeAlias = "DriftReportThresholds"
GetArtifactResult: TypeAlias = "Artifact"
GetDeploymentDriftResult: TypeAlias = "DriftReport"
GetDeploymentMetricsResult: TypeAlias = "DeploymentMetrics"
GetDeploymentResult: TypeAlias = "Deployment"
GetExperimentResult: TypeAlias = "Experiment"
GetJobResult: TypeAlias = "Job"
GetModelResult: TypeAlias = "RegisteredModel"
GetModelVersionResult: TypeAlias = "ModelVersionWithExperiment"
GetProjectResult: TypeAlias = "Project"
ImportMlflowModelResult: TypeAlias = "JobAccepted"
ListArtifactsQuery: TypeAlias = "ListProjectsQuery"
ListCatalogEntriesQuery: TypeAlias = "ListProjectsQuery"
ListCompositionsResult: TypeAlias = "Compositions"
ListDeploymentsQuery: TypeAlias = "ListProjectsQuery"
ListExperimentsQuery: TypeAlias = "ListProjectsQuery"
ListMembersQuery: TypeAlias = "ListProjectsQuery"
ListModelVersionsQuery: TypeAlias = "ListProjectsQuery"
ListModelsQuery: TypeAlias = "ListProjectsQuery"
MetadataValue: TypeAlias = "MetadataValueStringValue | MetadataValueInt64Value | MetadataValueDoubleValue | MetadataValueBoolValue | MetadataValueJsonValue | MetadataValueTimestampValue"
MetadataValueInput: TypeAlias = "MetadataValueInputStringValue | MetadataValueInputInt64Value | MetadataValueInputDoubleValue | MetadataValueInputBoolValue | MetadataValueInputJsonValue | MetadataValueInputTimestampValue"
MetadataValueInputBoolValue: TypeAlias = "MetadataValueBoolValue"
MetadataValueInputDoubleValue: TypeAlias = "MetadataValueDoubleValue"
MetadataValueInputStringValue: TypeAlias = "MetadataValueStringValue"
MetadataValueInputTimestampValue: TypeAlias = "MetadataValueTimestampValue"
ModelVersionWithExperimentArtifact: TypeAlias = "ModelVersionArtifact"
NewCatalogEntry: TypeAlias = "NewArtifactType | NewDeployableArtifactType | NewArtifactProcessor | NewModelType | NewRuntime"
OpenapiResult: TypeAlias = "dict[str, Any]"
PatchExperimentResult: TypeAlias = "Experiment"
PutMemberResult: TypeAlias = "ProjectMember"
RegisterModelVersionResult: TypeAlias = "ModelVersion"
RenewArtifactUploadResult: TypeAlias = "ArtifactUploadRenewal"
UpdateDeploymentResult: TypeAlias = "Deployment"
