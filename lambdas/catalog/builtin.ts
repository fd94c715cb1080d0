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

export interface RuntimeEntry {
  readonly name: string;
  readonly modelType: string;
  /** Folder under runtime-images/ holding the image's Dockerfile (built-ins), or an image URI. */
  readonly image: string;
  /** Environment variables every deployment of this runtime gets. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Frameworks (MLflow flavor names or the `framework` of a pickle artifact) this runtime's image
   * has installed. The deployer picks the first runtime whose list holds the model's framework.
   */
  readonly frameworks: readonly string[];
}

export const READY_MODEL_TYPE = "python/ready-model";

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
  ],
  modelTypes: [
    {
      name: READY_MODEL_TYPE,
      readableName: "Python model unpacked with a manifest (schema, framework, sample request)",
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
  ],
  runtimes: [
    {
      name: "python-tabular-runtime",
      modelType: READY_MODEL_TYPE,
      image: "tabular-runtime",
      env: {},
      frameworks: ["sklearn", "xgboost", "lightgbm", "statsmodels", "onnx", "python_function"],
    },
    {
      name: "python-pytorch-runtime",
      modelType: READY_MODEL_TYPE,
      image: "pytorch-runtime",
      env: {},
      frameworks: ["pytorch", "torchvision", "fastai", "python_function"],
    },
    {
      name: "python-tensorflow-runtime",
      modelType: READY_MODEL_TYPE,
      image: "tensorflow-runtime",
      env: {},
      frameworks: ["tensorflow", "keras", "python_function"],
    },
  ],
} as const satisfies {
  artifactTypes: readonly ArtifactTypeEntry[];
  deployableArtifactTypes: readonly DeployableArtifactTypeEntry[];
  modelTypes: readonly ModelTypeEntry[];
  artifactProcessors: readonly ArtifactProcessorEntry[];
  runtimes: readonly RuntimeEntry[];
};
