"""TensorFlow and Keras models served by the TensorFlow runtime, compared with in-process predict."""

from __future__ import annotations

import keras
import mlflow.keras
import mlflow.tensorflow
import numpy as np

from tests.frameworks import pyfunc_predict, serve_and_compare
from tests.models import TENSOR_SCHEMA, save_mlflow_tensor, tensor_features


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_tensorflow_flavor(tmp_path):
    features, model = tensor_features(), _model()
    matrix = features.to_numpy()
    save_mlflow_tensor(mlflow.tensorflow.save_model, tmp_path / "m", model, matrix, model.predict(matrix, verbose=0))
    expected = pyfunc_predict(tmp_path / "m", matrix)
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, features, expected, BYOM_INPUT_SCHEMA=TENSOR_SCHEMA)


def test_keras_flavor(tmp_path):
    features, model = tensor_features(), _model()
    matrix = features.to_numpy()
    save_mlflow_tensor(
        mlflow.keras.save_model, tmp_path / "m", model, matrix, model.predict(matrix, verbose=0), example=False
    )
    expected = pyfunc_predict(tmp_path / "m", matrix)
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, features, expected, BYOM_INPUT_SCHEMA=TENSOR_SCHEMA)


def test_keras_file_through_the_pickle_processor(tmp_path):
    features, model = tensor_features(), _model()
    model.save(tmp_path / "model.keras")
    expected = model.predict(features.to_numpy(), verbose=0)
    serve_and_compare(
        "pickle", tmp_path / "model.keras", tmp_path, features, np.asarray(expected),
        BYOM_FRAMEWORK="keras", BYOM_INPUT_SCHEMA=TENSOR_SCHEMA,
    )
