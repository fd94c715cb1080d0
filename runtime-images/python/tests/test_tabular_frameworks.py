"""scikit-learn, XGBoost, LightGBM, statsmodels, ONNX and generic MLflow python_function models,
each saved as its users save it, served by the tabular runtime and compared with in-process predict."""

from __future__ import annotations

import json

import joblib
import lightgbm
import mlflow
import numpy as np
import statsmodels.formula.api as smf
import xgboost
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from tests.frameworks import pyfunc_predict, serve_and_compare
from tests.models import mixed_frame, save_mlflow


def _schema(frame) -> str:
    types = {"int64": "Int64", "float64": "Float64", "float32": "Float32", "bool": "Boolean"}
    return json.dumps([{"name": c, "type": types[str(frame[c].dtype)]} for c in frame.columns])


def test_sklearn_mlflow_default_skops(tmp_path):
    frame, label = mixed_frame()
    model = LogisticRegression(max_iter=1000).fit(frame, label)
    save_mlflow(mlflow.sklearn.save_model, tmp_path / "m", model, frame, model.predict(frame))
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, frame, pyfunc_predict(tmp_path / "m", frame))


def _serve_pickled_income_regressor(tmp_path, model, file_name: str, framework: str, **env: str) -> dict:
    """Fits `model` to mixed_frame()'s income, joblib-dumps it and serves it through the pickle processor."""
    frame, _ = mixed_frame()
    model.fit(frame, frame.income)
    joblib.dump(model, tmp_path / file_name)
    return serve_and_compare(
        "pickle", tmp_path / file_name, tmp_path, frame, model.predict(frame),
        BYOM_FRAMEWORK=framework, BYOM_INPUT_SCHEMA=_schema(frame), **env,
    )


def test_sklearn_joblib_pickle(tmp_path):
    schema = _serve_pickled_income_regressor(
        tmp_path, RandomForestRegressor(n_estimators=20, random_state=0), "rf.joblib", "sklearn",
        BYOM_OUTPUT_SCHEMA='[{"name": "income_hat", "type": "Float64"}]',
    )
    assert schema["outputFields"] == [{"name": "income_hat", "dataType": "Float64"}]


def test_xgboost_mlflow(tmp_path):
    frame, label = mixed_frame()
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(frame, label)
    save_mlflow(mlflow.xgboost.save_model, tmp_path / "m", model, frame, model.predict(frame))
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, frame, pyfunc_predict(tmp_path / "m", frame))


def test_xgboost_pickle(tmp_path):
    _serve_pickled_income_regressor(tmp_path, xgboost.XGBRegressor(n_estimators=20, max_depth=3), "xgb.pkl", "xgboost")


def test_lightgbm_mlflow(tmp_path):
    frame, label = mixed_frame()
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(frame, label)
    save_mlflow(mlflow.lightgbm.save_model, tmp_path / "m", model, frame, model.predict(frame))
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, frame, pyfunc_predict(tmp_path / "m", frame))


def test_lightgbm_small_and_large_batches_each_take_their_fastest_matching_call(tmp_path):
    # The bare booster answers a few rows 50x faster than the wrapper, many rows 1.7x slower:
    # both calls are checked against the reference at load, and chosen by batch size.
    from byom_scorer.model import load_predictor
    from byom_scorer.convert import parse_request
    from tests.harness import frame_request, process_ok, zip_dir

    frame, label = mixed_frame(rows=1500, seed=4)
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(frame, label)
    save_mlflow(mlflow.lightgbm.save_model, tmp_path / "m", model, frame, model.predict(frame))
    ready = process_ok("mlflow", zip_dir(tmp_path / "m"), tmp_path / "ready")
    predictor = load_predictor(ready, "m", False)
    assert (predictor.call_name, predictor.batch_call_name) == ("lightgbm-booster", "native-numpy")
    for rows in (frame.head(3), frame):
        request = parse_request(frame_request(rows), predictor.input_schema)
        outputs = predictor.predict(request.columns, request.row_count)
        assert outputs.columns[0].tolist() == model.predict(rows).tolist()
    serve_and_compare("mlflow", tmp_path / "m", tmp_path / "served", frame, pyfunc_predict(tmp_path / "m", frame))


def test_lightgbm_pickle(tmp_path):
    _serve_pickled_income_regressor(tmp_path, lightgbm.LGBMRegressor(n_estimators=20, verbose=-1), "lgbm.joblib", "lightgbm")


def test_statsmodels_mlflow_and_pickle(tmp_path):
    frame, _ = mixed_frame()
    data = frame[["age", "income"]]
    results = smf.ols("income ~ age", data=data).fit()
    save_mlflow(mlflow.statsmodels.save_model, tmp_path / "m", results, data, results.predict(data).to_numpy())
    serve_and_compare("mlflow", tmp_path / "m", tmp_path / "a", data, pyfunc_predict(tmp_path / "m", data))
    joblib.dump(results, tmp_path / "ols.pkl")
    serve_and_compare(
        "pickle", tmp_path / "ols.pkl", tmp_path / "b", data, results.predict(data),
        BYOM_FRAMEWORK="statsmodels", BYOM_INPUT_SCHEMA=_schema(data),
    )


def _onnx_regressor(frame):
    from skl2onnx import to_onnx

    features = frame[["income", "score"]].astype("float32")
    model = LinearRegression().fit(features, frame.age)
    return features, to_onnx(model, features.to_numpy()[:1], target_opset=17)


def test_onnx_mlflow(tmp_path):
    frame, _ = mixed_frame()
    features, onnx_model = _onnx_regressor(frame)
    expected = pyfunc_predict(
        save_mlflow(mlflow.onnx.save_model, tmp_path / "m", onnx_model, features, np.zeros((len(features), 1), "float32")),
        features,
    )
    serve_and_compare("mlflow", tmp_path / "m", tmp_path, features, expected)


def test_onnx_file_through_the_pickle_processor(tmp_path):
    import onnxruntime

    frame, _ = mixed_frame()
    features, onnx_model = _onnx_regressor(frame)
    (tmp_path / "m.onnx").write_bytes(onnx_model.SerializeToString())
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: features.to_numpy()})[0]
    serve_and_compare(
        "pickle", tmp_path / "m.onnx", tmp_path, features, expected,
        BYOM_FRAMEWORK="onnx", BYOM_INPUT_SCHEMA=_schema(features),
    )


class Affine(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["income"] * 0.001 + model_input["age"] * 2.0


def test_generic_python_function_model(tmp_path):
    frame, _ = mixed_frame()
    data = frame[["age", "income"]]
    save_mlflow(
        lambda m, p, **kw: mlflow.pyfunc.save_model(p, python_model=m, **kw),
        tmp_path / "m", Affine(), data, Affine().predict(None, data).to_numpy(),
    )
    manifest_schema = serve_and_compare("mlflow", tmp_path / "m", tmp_path, data, pyfunc_predict(tmp_path / "m", data))
    assert manifest_schema["outputFields"][0]["name"] == "prediction"


class Centered(mlflow.pyfunc.PythonModel):
    """Answers depend on the whole batch (income minus the batch's mean income)."""

    def predict(self, context, model_input, params=None):
        return model_input["income"] - model_input["income"].mean()


def test_only_models_whose_answers_do_not_depend_on_the_batch_are_split_between_workers(tmp_path):
    from byom_scorer.model import load_predictor
    from tests.harness import process_ok, zip_dir

    frame, _ = mixed_frame()
    data = frame[["age", "income"]]
    for name, model in (("affine", Affine()), ("centered", Centered())):
        save_mlflow(
            lambda m, p, **kw: mlflow.pyfunc.save_model(p, python_model=m, **kw),
            tmp_path / name, model, data, model.predict(None, data).to_numpy(),
        )
        ready = process_ok("mlflow", zip_dir(tmp_path / name), tmp_path / f"{name}-ready")
        assert load_predictor(ready, name, False).splittable is (name == "affine"), name


def test_tree_models_that_read_float32_take_a_float32_matrix_with_their_own_answers(tmp_path):
    # XGBoost and scikit-learn's trees round every input to float32 themselves: the float32
    # matrix rounds once, the same way. Values straddling the split thresholds (closer to a
    # threshold than float32 resolves) must land on the side the model's own predict puts them.
    from sklearn.ensemble import GradientBoostingClassifier

    from byom_scorer.convert import parse_request
    from byom_scorer.model import load_predictor
    from tests.harness import frame_request, process_ok, zip_dir

    frame, label = mixed_frame(rows=600, seed=9)
    gbm = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0).fit(frame, label)
    thresholds = np.unique(np.concatenate([tree.tree_.threshold for tree in gbm.estimators_[:, 0]]))
    near = frame.copy()
    rng = np.random.default_rng(3)
    picks = rng.choice(thresholds[thresholds > 1], len(near))
    near["income"] = picks * (1 + rng.uniform(-1e-7, 1e-7, len(near)))
    for name, model in (("gbm", gbm), ("xgb", xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(frame, label))):
        save_mlflow(mlflow.sklearn.save_model if name == "gbm" else mlflow.xgboost.save_model, tmp_path / name, model, frame,
                    model.predict(frame), **({"serialization_format": "cloudpickle"} if name == "gbm" else {}))
        ready = process_ok("mlflow", zip_dir(tmp_path / name), tmp_path / f"ready-{name}")
        predictor = load_predictor(ready, name, False)
        assert predictor.batch_call_name == "native-numpy-float32", name
        request = parse_request(frame_request(near), predictor.input_schema)
        outputs = predictor.predict(request.columns, request.row_count)
        assert outputs.columns[0].tolist() == model.predict(near).tolist(), name
