/**
 * The built-in catalog, declared once. The CDK app reads it to build one image asset per `image`
 * folder under `runtime-images/` and to seed the catalog table; local mode reads it to run the same
 * images' entrypoints as local processes. Installation admins add entries through `POST /v1/catalog/entries`.
 */

export interface ArtifactTypeEntry {
  readonly name: string;
  readonly readableName: string;
}

export interface DeployableArtifactTypeEntry {
  readonly name: string;
  readonly readableName: string;
  /** The artifact type this deployable type refers to. */
  readonly artifactType: string;
}

export interface ModelTypeEntry {
  readonly name: string;
  readonly readableName: string;
}

/**
 * What an image entry (processor or runtime) says about its image besides `image`, and what the
 * catalog records when the image is brought into this account's ECR (docs/catalog.md).
 */
export interface ImageFields {
  /** Folder under runtime-images/ holding the image's Dockerfile (built-ins), or an image reference. */
  readonly image: string;
  /** A Secrets Manager secret with `{"username","password"}` for a private registry. */
  readonly imageCredentialsArn?: string;
  /**
   * Set by the catalog, never by the caller: `<this account's ECR repository>@sha256:…`, what ECS
   * tasks pull (a moving tag never changes a deployed image), once the image is in ECR.
   */
  readonly pinnedImage?: string;
  /** READY once `pinnedImage` is set; IMPORTING while it is copied; FAILED with `imageStatusReason`. */
  readonly imageStatus?: ImageStatus;
  readonly imageStatusReason?: string;
  /**
   * Set by the catalog on AWS: the task execution role of this entry's tasks, which may pull its
   * pinned image's repository and nothing else (docs/catalog.md, "Permissions").
   */
  readonly executionRoleArn?: string;
  /** The import-image job that copies the image (its progress: GET /v1/projects/catalog/jobs/<id>). */
  readonly importJobId?: string;
}

export const IMAGE_STATUSES = ["READY", "IMPORTING", "FAILED"] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export interface ArtifactProcessorEntry extends ImageFields {
  readonly name: string;
  readonly deployableArtifactType: string;
  /** The model type the processor writes under TARGET_PATH. */
  readonly modelType: string;
  /** Environment variables every run of this processor gets (under SOURCE_PATH/TARGET_PATH). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * An environment variable a deployment target may set for its runtime (`env` of a target,
 * docs/deployments.md): the value must match `pattern` (anchored) or be one of `allowed`. A secret
 * setting is never shown by GET and reaches an AWS task through Secrets Manager.
 */
export interface SettableEnv {
  readonly name: string;
  readonly description: string;
  readonly pattern?: string;
  readonly allowed?: readonly string[];
  readonly secret?: boolean;
}

/**
 * Features that live in a runtime's own code (docs/catalog.md, Capabilities): a deployment that
 * needs one from a runtime without it is refused (409 MISSING_CAPABILITY), never served without.
 * passphrase: checks BYOM_PASSPHRASE_HASH; shadow: a champion mirroring to BYOM_SHADOW_URL;
 * metrics: per-request metric lines (docs/monitoring.md); capture: writes a sample of requests and
 * answers to BYOM_CAPTURE_URI; columnar: column-oriented bodies;
 * v2: the Open Inference (V2) protocol.
 */
export const RUNTIME_CAPABILITIES = ["passphrase", "shadow", "metrics", "capture", "columnar", "v2"] as const;
export type RuntimeCapability = (typeof RUNTIME_CAPABILITIES)[number];

/** What the load balancer probes when an entry names no health path: every scorer serves it. */
export const DEFAULT_HEALTH_PATH = "/model/schema";

export interface RuntimeEntry extends ImageFields {
  readonly name: string;
  readonly modelType: string;
  /** The GET path that answers 200 once the runtime is ready. @default DEFAULT_HEALTH_PATH */
  readonly healthPath?: string;
  /** What the runtime implements beyond GET /model/schema and POST /model/score. @default none */
  readonly capabilities?: readonly RuntimeCapability[];
  /** Environment variables every deployment of this runtime gets. */
  readonly env: Readonly<Record<string, string>>;
  /** The variables a deployment may set over `env` (none when absent). */
  readonly settableEnv?: readonly SettableEnv[];
  /**
   * Frameworks (MLflow flavor names or the `framework` of a pickle artifact) this runtime's image
   * has installed. The deployer picks the first runtime whose list holds the model's framework.
   */
  readonly frameworks: readonly string[];
}

export const READY_MODEL_TYPE = "python/ready-model";
/** An H2O-3 MOJO checked by h2o-genmodel, with the same manifest (docs/runtimes.md). */
export const MOJO_MODEL_TYPE = "h2o3/ready-mojo";
/** The `framework` ingestion records for an H2O-3 MOJO; the MOJO runtime serves it. */
export const H2O3_FRAMEWORK = "h2o3";

/** What every built-in Python runtime lets a deployment set (docs/runtimes.md). */
const PYTHON_RUNTIME_SETTINGS: readonly SettableEnv[] = [
  {
    name: "BYOM_PREDICT_PROBA",
    description: "true: classifiers with predict_proba answer one field per class",
    allowed: ["true", "false"],
  },
  {
    name: "BYOM_WORKERS",
    description: "Worker processes sharing the port (1-16); default the CPU count",
    pattern: "^([1-9]|1[0-6])$",
  },
];

/**
 * What Byom's Python scorer (runtime-images/python/byom_scorer) implements today. metrics and
 * capture are named for entries whose images serve them; no built-in does yet.
 */
const PYTHON_RUNTIME_CAPABILITIES: readonly RuntimeCapability[] = [
  "passphrase",
  "shadow",
  "metrics",
  "capture",
  "columnar",
  "v2",
];

export const BUILTIN_CATALOG = {
  artifactTypes: [
    { name: "python/mlflow", readableName: "MLflow model directory (zip)" },
    { name: "python/pickle", readableName: "Serialized Python model (pickle or joblib)" },
    { name: "h2o3/mojo", readableName: "H2O-3 MOJO" },
    { name: "dai/mojo_pipeline", readableName: "Driverless AI MOJO pipeline" },
  ],
  deployableArtifactTypes: [
    { name: "python/mlflow", readableName: "MLflow model", artifactType: "python/mlflow" },
    { name: "python/pickle", readableName: "Pickled Python model", artifactType: "python/pickle" },
    { name: "h2o3/mojo", readableName: "H2O-3 MOJO", artifactType: "h2o3/mojo" },
  ],
  modelTypes: [
    {
      name: READY_MODEL_TYPE,
      readableName: "Python model unpacked with a manifest (schema, framework, sample request)",
    },
    {
      name: MOJO_MODEL_TYPE,
      readableName: "H2O-3 MOJO checked by h2o-genmodel, with a manifest (schema, sample request)",
    },
  ],
  artifactProcessors: [
    {
      name: "python-mlflow-processor",
      deployableArtifactType: "python/mlflow",
      modelType: READY_MODEL_TYPE,
      image: "mlflow-processor",
    },
    {
      name: "python-pickle-processor",
      deployableArtifactType: "python/pickle",
      modelType: READY_MODEL_TYPE,
      image: "pickle-processor",
    },
    {
      name: "h2o3-mojo-processor",
      deployableArtifactType: "h2o3/mojo",
      modelType: MOJO_MODEL_TYPE,
      image: "mojo-processor",
    },
  ],
  runtimes: [
    {
      name: "python-tabular-runtime",
      modelType: READY_MODEL_TYPE,
      image: "tabular-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      healthPath: "/readyz",
      capabilities: PYTHON_RUNTIME_CAPABILITIES,
      frameworks: ["sklearn", "xgboost", "lightgbm", "statsmodels", "onnx", "python_function"],
    },
    {
      name: "python-pytorch-runtime",
      modelType: READY_MODEL_TYPE,
      image: "pytorch-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      healthPath: "/readyz",
      capabilities: PYTHON_RUNTIME_CAPABILITIES,
      frameworks: ["pytorch", "torchvision", "fastai", "python_function"],
    },
    {
      name: "python-tensorflow-runtime",
      modelType: READY_MODEL_TYPE,
      image: "tensorflow-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      healthPath: "/readyz",
      capabilities: PYTHON_RUNTIME_CAPABILITIES,
      frameworks: ["tensorflow", "keras", "python_function"],
    },
    {
      // MXNet Gluon models saved by MLflow 1.x: numpy 1.23, mlflow-skinny 1.29 (docs/runtimes.md).
      name: "python-legacy-runtime",
      modelType: READY_MODEL_TYPE,
      image: "legacy-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      healthPath: "/readyz",
      capabilities: PYTHON_RUNTIME_CAPABILITIES,
      frameworks: ["gluon"],
    },
    {
      name: "h2o3-mojo-runtime",
      modelType: MOJO_MODEL_TYPE,
      image: "mojo-runtime",
      env: {},
      healthPath: "/readyz",
      // The Java runtime checks passphrases; no shadow copies (it refuses to start as a champion),
      // columnar bodies or V2 (docs/runtimes.md).
      capabilities: ["passphrase"],
      frameworks: [H2O3_FRAMEWORK],
    },
  ],
} as const satisfies {
  artifactTypes: readonly ArtifactTypeEntry[];
  deployableArtifactTypes: readonly DeployableArtifactTypeEntry[];
  modelTypes: readonly ModelTypeEntry[];
  artifactProcessors: readonly ArtifactProcessorEntry[];
  runtimes: readonly RuntimeEntry[];
};
