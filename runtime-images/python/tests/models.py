"""Small real models, saved the way their users save them."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tests.harness import process_ok, zip_dir


def mixed_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows).astype("int64"),
            "income": rng.normal(50_000, 15_000, rows),
            "score": rng.random(rows).astype("float32"),
            "member": rng.random(rows) < 0.4,
        }
    )
    label = ((frame.income / 50_000 + frame.score + frame.member) > 1.8).astype("int64").to_numpy()
    return frame, label


#: The tensor models' input (PyTorch, Keras): float32 columns of similar scale, from mixed_frame().
TENSOR_FEATURES = ["income_k", "score", "age_decades"]
TENSOR_SCHEMA = json.dumps([{"name": name, "type": "Float32"} for name in TENSOR_FEATURES])


def tensor_features() -> pd.DataFrame:
    frame, _ = mixed_frame()
    return pd.DataFrame(
        {
            "income_k": (frame.income / 1000).astype("float32"),
            "score": frame.score.astype("float32"),
            "age_decades": (frame.age / 10).astype("float32"),
        }
    )


def save_mlflow(save, directory: Path, model, frame: pd.DataFrame, output, **kwargs) -> Path:
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save(model, str(directory), signature=infer_signature(frame, output), input_example=frame.head(2), **kwargs)
    return directory


def save_mlflow_tensor(save, directory: Path, model, matrix: np.ndarray, output, example: bool = True, **kwargs) -> Path:
    """MLflow 3's PyTorch and Keras flavors take a numpy input example and a tensor signature.
    (mlflow.keras.save_model 3.17 writes the example before creating the folder: example=False.)"""
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if example:
            kwargs["input_example"] = matrix[:2]
        save(model, str(directory), signature=infer_signature(matrix, output), **kwargs)
    return directory


def ready_sklearn(model, frame: pd.DataFrame, directory: Path) -> Path:
    """A fitted scikit-learn model saved in `directory` as MLflow (cloudpickle) and run through the
    MLflow processor: returns the ready folder a runtime serves (`<directory>-ready`)."""
    import mlflow.sklearn

    save_mlflow(mlflow.sklearn.save_model, directory, model, frame, model.predict(frame), serialization_format="cloudpickle")
    return process_ok("mlflow", zip_dir(directory), directory.with_name(f"{directory.name}-ready"))


def ready_gbm(directory: Path, n_estimators: int):
    """A gradient-boosted classifier of mixed_frame()'s label, made ready to serve by ready_sklearn:
    (model, frame, ready folder)."""
    from sklearn.ensemble import GradientBoostingClassifier

    frame, label = mixed_frame()
    model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=0).fit(frame, label)
    return model, frame, ready_sklearn(model, frame, directory)
