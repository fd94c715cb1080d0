import { existsSync } from "node:fs";
import { join } from "node:path";
import { RUNTIME_IMAGES_DIR } from "./paths.ts";

/** How `docker build` makes one image folder's image, with runtime-images/ as the context. */
export interface ImageBuild {
  /** The Dockerfile, relative to runtime-images/. */
  readonly file: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The Dockerfile's stage to build. */
  readonly target?: string;
  /** The package under runtime-images/python/ the image runs with `python -m` (Python images). */
  readonly pythonPackage?: string;
}

/** The one Dockerfile of every Python image: a build argument picks the requirements and the package. */
export const PYTHON_DOCKERFILE = "python.Dockerfile";

/**
 * The Python images: folder → what it holds (its requirements.txt pins it), its kind and package.
 * A folder listed in neither table builds from its own `<folder>/Dockerfile`.
 */
export const PYTHON_IMAGES: Readonly<
  Record<
    string,
    { readonly kind: "runtime" | "processor"; readonly pythonPackage: string; readonly holds: string }
  >
> = {
  "mlflow-processor": {
    kind: "processor",
    pythonPackage: "byom_mlflow_processor",
    holds: "an MLflow model zip (python/mlflow) becomes a ready model (python/ready-model)",
  },
  "pickle-processor": {
    kind: "processor",
    pythonPackage: "byom_pickle_processor",
    holds: "a pickle/joblib file (python/pickle) plus its declared framework becomes a ready model",
  },
  "tabular-runtime": {
    kind: "runtime",
    pythonPackage: "byom_scorer",
    holds: "scikit-learn, XGBoost, LightGBM, statsmodels, ONNX and MLflow python_function models",
  },
  "pytorch-runtime": {
    kind: "runtime",
    pythonPackage: "byom_scorer",
    holds: "torch, torchvision, fastai and MLflow python_function models",
  },
  "tensorflow-runtime": {
    kind: "runtime",
    pythonPackage: "byom_scorer",
    holds: "TensorFlow, Keras and MLflow python_function models",
  },
  "legacy-runtime": {
    kind: "runtime",
    pythonPackage: "byom_scorer",
    // Frozen at 2022 versions on purpose: serve only models that need them.
    holds: "MLflow 1.x gluon (MXNet 1.9.1) models, on numpy 1.23 and mlflow-skinny 1.29",
  },
};

/**
 * The Java images: one Maven project, one Dockerfile (`mojo-runtime/Dockerfile`) whose build stage
 * makes the jar both run; the target picks the runtime's or the processor's final stage.
 */
export const JAVA_IMAGES: Readonly<Record<string, { readonly file: string; readonly target: string }>> = {
  "mojo-runtime": { file: "mojo-runtime/Dockerfile", target: "runtime" },
  "mojo-processor": { file: "mojo-runtime/Dockerfile", target: "processor" },
};

export function imageBuild(folder: string): ImageBuild {
  const java = JAVA_IMAGES[folder];
  if (java) return { file: java.file, target: java.target };
  const python = PYTHON_IMAGES[folder];
  if (python) {
    return {
      file: PYTHON_DOCKERFILE,
      buildArgs: { IMAGE: folder, PACKAGE: python.pythonPackage },
      target: python.kind,
      pythonPackage: python.pythonPackage,
    };
  }
  const file = `${folder}/Dockerfile`;
  if (!existsSync(join(RUNTIME_IMAGES_DIR, file))) {
    throw new Error(
      `runtime-images/${folder} has no Dockerfile and is not a Python image in cdk/image-builds.ts`,
    );
  }
  return { file };
}
