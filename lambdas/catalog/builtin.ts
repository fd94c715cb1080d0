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

export interface ArtifactProcessorEntry {
  readonly name: string;
  readonly deployableArtifactType: string;
  /** The model type the processor writes under TARGET_PATH. */
  readonly modelType: string;
  /** Folder under runtime-images/ holding the image's Dockerfile (built-ins), or an image URI. */
  readonly image: string;
}

/**
 * An environment variable a deployment target may set for its runtime (`env` of a target,
 * docs/deployer.md): the value must match `pattern` (anchored) or be one of `allowed`. A secret
 * setting is never shown by GET and reaches an AWS task through Secrets Manager.
 */
export interface SettableEnv {
  readonly name: string;
  readonly description: string;
  readonly pattern?: string;
  readonly allowed?: readonly string[];
  readonly secret?: boolean;
}

export interface RuntimeEntry {
  readonly name: string;
  readonly modelType: string;
  /** Folder under runtime-images/ holding the image's Dockerfile (built-ins), or an image URI. */
  readonly image: string;
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
      frameworks: ["sklearn", "xgboost", "lightgbm", "statsmodels", "onnx", "python_function"],
    },
    {
      name: "python-pytorch-runtime",
      modelType: READY_MODEL_TYPE,
      image: "pytorch-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      frameworks: ["pytorch", "torchvision", "fastai", "python_function"],
    },
    {
      name: "python-tensorflow-runtime",
      modelType: READY_MODEL_TYPE,
      image: "tensorflow-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      frameworks: ["tensorflow", "keras", "python_function"],
    },
    {
      // MXNet Gluon models saved by MLflow 1.x: numpy 1.23, mlflow-skinny 1.29 (docs/runtimes.md).
      name: "python-legacy-runtime",
      modelType: READY_MODEL_TYPE,
      image: "legacy-runtime",
      env: {},
      settableEnv: PYTHON_RUNTIME_SETTINGS,
      frameworks: ["gluon"],
    },
    {
      name: "h2o3-mojo-runtime",
      modelType: MOJO_MODEL_TYPE,
      image: "mojo-runtime",
      env: {},
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
