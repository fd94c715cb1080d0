"""PyTorch, torchvision and fastai models served by the PyTorch runtime, compared with in-process."""

from __future__ import annotations

import json

import mlflow.pytorch
import numpy as np
import pandas as pd
import torch
import torchvision

from tests.frameworks import pyfunc_predict, serve_and_compare
from tests.models import TENSOR_SCHEMA, mixed_frame, save_mlflow_tensor, tensor_features


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).eval()


def _in_process(model: torch.nn.Module, features: pd.DataFrame) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(features.to_numpy())).numpy()


def test_pytorch_mlflow(tmp_path):
    features, model = tensor_features(), _net()
    matrix = features.to_numpy()
    save_mlflow_tensor(mlflow.pytorch.save_model, tmp_path / "m", model, matrix, _in_process(model, features))
    expected = pyfunc_predict(tmp_path / "m", matrix)
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, features, expected, BYOM_INPUT_SCHEMA=TENSOR_SCHEMA)


def test_pytorch_full_model_pickle(tmp_path):
    features, model = tensor_features(), _net()
    torch.save(model, tmp_path / "model.pt")
    serve_and_compare(
        "pickle", tmp_path / "model.pt", tmp_path, features, _in_process(model, features),
        BYOM_FRAMEWORK="pytorch", BYOM_INPUT_SCHEMA=TENSOR_SCHEMA,
    )


def test_torchvision_model_mlflow_and_pickle(tmp_path):
    features = tensor_features()
    torch.manual_seed(0)
    model = torchvision.ops.MLP(3, [16, 2]).eval()
    matrix = features.to_numpy()
    save_mlflow_tensor(mlflow.pytorch.save_model, tmp_path / "m", model, matrix, _in_process(model, features))
    serve_and_compare(
        "mlflow", tmp_path / "m", tmp_path / "a", features, pyfunc_predict(tmp_path / "m", matrix), BYOM_INPUT_SCHEMA=TENSOR_SCHEMA
    )
    torch.save(model, tmp_path / "mlp.pt")
    serve_and_compare(
        "pickle", tmp_path / "mlp.pt", tmp_path / "b", features, _in_process(model, features),
        BYOM_FRAMEWORK="torchvision", BYOM_INPUT_SCHEMA=TENSOR_SCHEMA,
    )


def test_fastai_tabular_learner_export(tmp_path):
    from fastai.tabular.all import Categorify, FillMissing, Normalize, TabularDataLoaders, tabular_learner

    frame, label = mixed_frame(300)
    data = frame[["age", "income"]].copy()
    data["label"] = np.where(label == 1, "high", "low")
    dls = TabularDataLoaders.from_df(
        data, path=tmp_path, y_names="label", cont_names=["age", "income"],
        procs=[Categorify, FillMissing, Normalize], bs=64,
    )
    learner = tabular_learner(dls, layers=[8])
    with learner.no_bar(), learner.no_logging():
        learner.fit(1)
    learner.export(tmp_path / "export.pkl")
    inputs = data[["age", "income"]]
    with learner.no_bar(), learner.no_logging():
        probabilities, _ = learner.get_preds(dl=learner.dls.test_dl(inputs))
    expected = np.asarray(list(dls.vocab), dtype=object)[probabilities.numpy().argmax(axis=1)]
    schema = json.dumps([{"name": "age", "type": "Int64"}, {"name": "income", "type": "Float64"}])
    serve_and_compare(
        "pickle", tmp_path / "export.pkl", tmp_path / "a", inputs, expected,
        BYOM_FRAMEWORK="fastai", BYOM_INPUT_SCHEMA=schema,
    )
