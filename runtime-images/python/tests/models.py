"""Small real models, saved the way their users save them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd


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
