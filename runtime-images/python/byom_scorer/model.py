"""Loading a ready model and calling its own predict, as fast as faithfulness allows.

Every model has a *reference* call, the one its users make in-process: for an MLflow model the
pyfunc `predict` on a DataFrame typed by the signature (which honours `pyfunc_predict_fn`), for a
pickle the declared predict method on such a DataFrame. Faster calls (the raw model on a numpy
matrix, or on the DataFrame without MLflow's wrapper) are used only when, at load, they produce
exactly the same output as the reference on probe rows; otherwise the reference serves.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from byom_ready.manifest import Manifest, read_manifest
from byom_ready.schema import Column
from byom_scorer.convert import NUMPY_DTYPES, parse_request

log = logging.getLogger("byom_scorer")

Call = Callable[[list[np.ndarray], int], Any]
# Calls that win on a few rows but lose on many: LightGBM's bare booster skips the wrapper's
# per-call configuration parsing (50x faster for one row) but predicts 10,000 rows 1.7x slower
# than the wrapper (measured: the two cross at ~300 rows). Larger batches take the next
# candidate that matched the reference.
_SMALL_ONLY = frozenset(("lightgbm-booster",))
_SMALL_ONLY_ROWS = 256
_NUMERIC = frozenset(("Boolean", "Float32", "Float64", "Int32", "Int64"))


class ModelLoadError(Exception):
    """The ready model cannot be served; the message goes to the deployment's failure reason."""


def as_matrix(columns: list[np.ndarray], rows: int, dtype: Any = np.float64) -> np.ndarray:
    ready = getattr(columns, "matrix", None)
    if ready is not None:
        return ready if dtype == np.float64 else ready.astype(dtype)
    matrix = np.empty((rows, len(columns)), dtype=dtype)
    for index, column in enumerate(columns):
        matrix[:, index] = column
    return matrix


def frame_maker(schema: list[Column]) -> Callable[[list[np.ndarray], int], Any]:
    import pandas as pd

    names = [column.name for column in schema]

    def make(columns: list[np.ndarray], rows: int) -> Any:
        return pd.DataFrame(dict(zip(names, columns, strict=True)), copy=False)

    return make


@dataclass
class Outputs:
    names: list[str]
    columns: list[np.ndarray]


def _as_numpy(value: Any) -> Any:
    for attribute in ("detach",):  # torch tensors
        if hasattr(value, attribute):
            value = value.detach().cpu()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray) and not hasattr(value, "columns"):
        try:
            return value.numpy()
        except Exception:  # noqa: BLE001 - not a tensor after all
            return value
    return value


def split_outputs(result: Any, rows: int) -> tuple[list[str] | None, list[np.ndarray]]:
    """Columns of whatever predict returned, with names when the result carries them."""
    result = _as_numpy(result)
    if hasattr(result, "columns") and hasattr(result, "iloc"):  # DataFrame
        return [str(c) for c in result.columns], [result[c].to_numpy() for c in result.columns]
    if hasattr(result, "to_numpy"):  # Series
        return None, [result.to_numpy()]
    if isinstance(result, dict):
        return [str(k) for k in result], [np.asarray(_as_numpy(v)).reshape(rows, -1)[:, 0] for v in result.values()]
    if isinstance(result, (list, tuple)) and result and not np.isscalar(result[0]) and len(result) != rows:
        result = result[0]  # multi-output models (e.g. ONNX label + probabilities): the first output
    array = np.asarray(result)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim == 1:
        return None, [array]
    array = array.reshape(array.shape[0], -1)
    return None, [array[:, index] for index in range(array.shape[1])]


def _numbers_text(values: list[Any]) -> list[str]:
    """orjson writes a list of numbers in C; split, that is each number's text."""
    return orjson.dumps(values).decode().removeprefix("[").removesuffix("]").split(",") if values else []


def _float64_text(column: np.ndarray) -> list[str]:
    """repr() of each value, as answers always gave it. orjson writes the same shortest digits and
    the same layout, except NaN/inf (null) and exponents -5 to -9 (`1e-5`, repr `1e-05`): those few
    values take repr itself. tests/test_convert.py holds the two to the same text."""
    values = column.tolist()
    text = _numbers_text(values)
    with np.errstate(invalid="ignore"):
        odd = np.flatnonzero(~np.isfinite(column) | ((np.abs(column) < 1e-4) & (column != 0)))
    for index in odd.tolist():
        text[index] = repr(values[index])
    return text


def _text_column(column: np.ndarray) -> list[str]:
    kind = column.dtype.kind
    if kind == "f":
        if column.dtype == np.float64:
            return _float64_text(column)
        return column.astype(str).tolist()
    if kind in "iu":
        return _numbers_text(column.tolist())
    if kind == "b":
        return ["true" if value else "false" for value in column.tolist()]
    if kind == "M":
        return [str(value) for value in column.astype("datetime64[ms]").tolist()]
    return ["" if value is None else str(value) for value in column.tolist()]


def as_text_columns(columns: list[np.ndarray]) -> list[list[str]]:
    return [_text_column(column) for column in columns]


# Text of these kinds (numbers, nan/inf, true/false) never needs a JSON escape.
_PLAIN_TEXT_KINDS = frozenset("fiub")


def score_json(columns: list[np.ndarray], texts: list[list[str]] | None = None) -> bytes:
    """The answer's rows as a JSON array of arrays of text: `texts` (id and echoed fields) then
    the output columns. Plain outputs alone are joined as text, not handed to orjson as one tuple
    per row (for 10k rows: a third of the time; the bytes are the same)."""
    if not texts and columns and len(columns[0]) and all(column.dtype.kind in _PLAIN_TEXT_KINDS for column in columns):
        text = as_text_columns(columns)
        rows = text[0] if len(text) == 1 else ['","'.join(row) for row in zip(*text)]
        return b'[["' + '"],["'.join(rows).encode() + b'"]]'
    return orjson.dumps(list(zip(*(texts or []), *as_text_columns(columns))))


def as_text_rows(columns: list[np.ndarray]) -> list[tuple[str, ...]]:
    """Rows as tuples: orjson writes them as arrays, and no list is built per row."""
    return list(zip(*as_text_columns(columns)))


def _infer_type(column: np.ndarray) -> str:
    return {"f": "Float64", "i": "Int64", "u": "Int64", "b": "Boolean", "M": "Time64"}.get(column.dtype.kind, "String")


def probe_rows(manifest: Manifest, count: int = 24) -> list[list[Any]]:
    """The sample request plus seeded random rows of the schema's types."""
    rows: list[list[Any]] = []
    sample = manifest.sample_request or {}
    fields = sample.get("fields")
    if fields == [c.name for c in manifest.input_schema]:
        rows.extend(list(row) for row in sample.get("rows", [])[:8])
    generator = random.Random(7)
    for _ in range(count):
        row: list[Any] = []
        for column in manifest.input_schema:
            kind = column.type
            if kind.startswith("Float"):
                row.append(generator.uniform(-3, 3))
            elif kind.startswith("Int"):
                row.append(generator.randint(0, 5))
            elif kind == "Boolean":
                row.append(generator.random() < 0.5)
            elif kind == "Time64":
                row.append(f"2024-0{generator.randint(1, 9)}-1{generator.randint(0, 9)}T00:00:00Z")
            else:
                row.append(str(sample.get("rows", [[None] * len(manifest.input_schema)])[0][len(row)] or "a"))
        rows.append(row)
    return rows


class Predictor:
    def __init__(self, manifest: Manifest, model_id: str, predict_proba: bool, ready_dir: Path) -> None:
        self.manifest = manifest
        self.model_id = model_id
        self.input_schema = manifest.input_schema
        self.predict_proba = predict_proba
        self._reference, self._candidates, self._classes = _load_calls(manifest, predict_proba, ready_dir)
        self._call: Call = self._reference
        self.call_name = "reference"
        self._batch_call: Call = self._reference  # for batches over _SMALL_ONLY_ROWS rows
        self.splittable = False
        self.batch_call_name = "reference"
        self.output_schema = manifest.output_schema
        self._choose_fast_call()

    def _choose_fast_call(self) -> None:
        rows = probe_rows(self.manifest)
        fields = [c.name for c in self.input_schema]
        request = parse_request({"fields": fields, "rows": rows}, self.input_schema)
        try:
            expected = self._outputs(self._reference(request.columns, request.row_count), request.row_count)
        except Exception as error:  # noqa: BLE001 - a probe the model rejects proves nothing
            log.warning("probe rows rejected by the model (%s); serving with the reference call", error)
            return
        if self.output_schema is None or len(self.output_schema) != len(expected.names) or self.predict_proba:
            self.output_schema = [Column(n, _infer_type(c)) for n, c in zip(expected.names, expected.columns, strict=True)]
        expected_text = as_text_rows(expected.columns)
        chosen = False
        for name, call in self._candidates:
            try:
                got = self._outputs(call(request.columns, request.row_count), request.row_count)
            except Exception:  # noqa: BLE001
                continue
            if got.names == expected.names and as_text_rows(got.columns) == expected_text:
                if not chosen:
                    self._call, self.call_name, chosen = call, name, True
                if name not in _SMALL_ONLY:
                    self._batch_call, self.batch_call_name = call, name
                    break
        self.splittable = not getattr(self._batch_call, "threads_itself", False) and self._halves_agree(
            request.columns, request.row_count
        )

    def _halves_agree(self, columns: Any, rows: int) -> bool:
        """Whether the batch call answers the probe rows in two halves exactly as in one piece:
        only then may a large batch be split between workers (byom_scorer.peer)."""
        if rows < 2:
            return False
        half = rows // 2
        typed = [np.asarray(column) for column in columns]
        try:
            whole = self._outputs(self._batch_call(typed, rows), rows)
            first = self._outputs(self._batch_call([c[:half] for c in typed], half), half)
            second = self._outputs(self._batch_call([c[half:] for c in typed], rows - half), rows - half)
        except Exception:  # noqa: BLE001 - a model that refuses halves is not split
            return False
        joined = [np.concatenate((a, b)) for a, b in zip(first.columns, second.columns, strict=True)]
        return first.names == whole.names == second.names and as_text_rows(joined) == as_text_rows(whole.columns)

    def _outputs(self, result: Any, rows: int) -> Outputs:
        names, columns = split_outputs(result, rows)
        base = self.manifest.output_schema[0].name if self.manifest.output_schema else "prediction"
        if self.predict_proba and self._classes is not None and len(self._classes) == len(columns):
            names = [f"{base}.{label}" for label in self._classes]
        elif self.manifest.output_schema and len(self.manifest.output_schema) == len(columns):
            names = [column.name for column in self.manifest.output_schema]
        elif names is None:
            names = [base] if len(columns) == 1 else [f"{base}.{i}" for i in range(len(columns))]
        for column in columns:
            if len(column) != rows:
                raise ValueError(f"the model returned {len(column)} values for {rows} rows")
        return Outputs(names, columns)

    def predict(self, columns: list[np.ndarray], rows: int) -> Outputs:
        call = self._call if rows <= _SMALL_ONLY_ROWS else self._batch_call
        return self._outputs(call(columns, rows), rows)


def _numpy_ok(schema: list[Column]) -> bool:
    return all(column.type in _NUMERIC for column in schema)


def _method(model: Any, name: str) -> Callable[[Any], Any] | None:
    method = getattr(model, name, None)
    return method if callable(method) else None


def _load_calls(
    manifest: Manifest, predict_proba: bool, ready_dir: Path
) -> tuple[Call, list[tuple[str, Call]], list[Any] | None]:
    path = ready_dir / manifest.model_path
    schema = manifest.input_schema
    frame = frame_maker(schema)
    fn_name = "predict_proba" if predict_proba else manifest.predict_fn
    candidates: list[tuple[str, Call]] = []

    if manifest.loader == "onnx":
        return _onnx_calls(path, schema, predict_proba)
    if manifest.loader == "torch":
        return _torch_calls(path)
    if manifest.loader == "fastai":
        return _fastai_calls(path, frame, predict_proba)
    if manifest.loader == "keras":
        return _keras_calls(path)

    if manifest.loader == "mlflow":
        import mlflow.pyfunc

        pyfunc_model = mlflow.pyfunc.load_model(str(path))
        try:
            raw = pyfunc_model.get_raw_model()
        except Exception:  # noqa: BLE001 - flavors without a raw model
            raw = None
        method = _method(raw, fn_name) if raw is not None else None
        if predict_proba:
            if method is None:
                raise ModelLoadError(f"BYOM_PREDICT_PROBA is set but the {manifest.framework} model has no predict_proba")

            def reference(columns: list[np.ndarray], rows: int) -> Any:
                return method(frame(columns, rows))
        elif manifest.tensor_input is not None:
            dtype = np.dtype(manifest.tensor_input.get("dtype", "float32"))

            def reference(columns: list[np.ndarray], rows: int) -> Any:
                return pyfunc_model.predict(as_matrix(columns, rows).astype(dtype))
        else:

            def reference(columns: list[np.ndarray], rows: int) -> Any:
                return pyfunc_model.predict(frame(columns, rows))

    else:  # joblib / pickle
        import joblib

        raw = joblib.load(path)
        method = _method(raw, fn_name)
        if method is None:
            raise ModelLoadError(f"the unpickled {type(raw).__name__} has no {fn_name}() method")

        def reference(columns: list[np.ndarray], rows: int) -> Any:
            return method(frame(columns, rows))

    if method is not None:
        if _numpy_ok(schema):
            lightgbm_call = _lightgbm_booster_call(raw, fn_name)
            if lightgbm_call is not None:
                candidates.append(("lightgbm-booster", lightgbm_call))
            if _float32_inside(raw):
                candidates.append(
                    ("native-numpy-float32", lambda columns, rows: method(as_matrix(columns, rows, np.float32)))
                )
            candidates.append(("native-numpy", lambda columns, rows: method(as_matrix(columns, rows))))
        candidates.append(("native-frame", lambda columns, rows: method(frame(columns, rows))))
    if raw is not None and _threads_itself(raw):
        for call in (reference, *(call for _, call in candidates)):
            call.threads_itself = True  # type: ignore[attr-defined]
    classes = getattr(raw, "classes_", None)
    return reference, candidates, None if classes is None else list(np.asarray(classes).tolist())


def _float32_inside(raw: Any) -> bool:
    """Models that round every input value to float32 before they look at it: XGBoost (its
    matrices hold float32) and scikit-learn's tree models (`check_array(dtype=float32)`).
    Handing them a float32 matrix is the same rounding done once by numpy, without their own
    float64 -> float32 copy of the batch (10k rows: ~0.3 ms of ~11-17 ms)."""
    module = type(raw).__module__
    if module.startswith("xgboost.") and hasattr(raw, "get_booster"):
        return True
    if not module.startswith("sklearn."):
        return False
    from sklearn import ensemble, tree

    float32_trees = (
        ensemble.GradientBoostingClassifier, ensemble.GradientBoostingRegressor,
        ensemble.RandomForestClassifier, ensemble.RandomForestRegressor,
        ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor,
        tree.DecisionTreeClassifier, tree.DecisionTreeRegressor,
    )
    return type(raw) in float32_trees  # exactly: a subclass may predict its own way


def _threads_itself(raw: Any) -> bool:
    """Models whose predict already runs a thread team over every core: LightGBM's scikit-learn
    wrappers turn n_jobs=None into num_threads=<cores> whatever OMP_NUM_THREADS says. Splitting
    their batches between workers only oversubscribes the cores (measured: 10k rows 64 -> 69 ms)."""
    return type(raw).__module__.startswith("lightgbm") and hasattr(raw, "booster_")


def _lightgbm_booster_call(raw: Any, fn_name: str) -> Call | None:
    """LightGBM's scikit-learn wrappers hand every training parameter to Booster.predict on each
    call, which re-parses the configuration: ~50x the cost of the prediction for one row. The
    booster alone, plus the wrapper's own post-processing (class = argmax of the probabilities),
    is offered as a candidate; like every candidate it serves only if it matches the wrapper."""
    module = type(raw).__module__
    if not module.startswith("lightgbm") or not hasattr(raw, "booster_") or fn_name not in ("predict", "predict_proba"):
        return None
    booster = raw.booster_
    classes = getattr(raw, "classes_", None)

    def probabilities(matrix: np.ndarray) -> np.ndarray:
        values = booster.predict(matrix)
        return np.column_stack((1.0 - values, values)) if values.ndim == 1 else values

    if classes is None:
        if fn_name != "predict":
            return None
        return lambda columns, rows: booster.predict(as_matrix(columns, rows))
    if fn_name == "predict_proba":
        return lambda columns, rows: probabilities(as_matrix(columns, rows))
    return lambda columns, rows: classes[np.argmax(probabilities(as_matrix(columns, rows)), axis=1)]


def _onnx_calls(path: Path, schema: list[Column], predict_proba: bool) -> tuple[Call, list[tuple[str, Call]], list[Any] | None]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("BYOM_ONNX_THREADS", "1"))
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    output_index = 1 if predict_proba and len(session.get_outputs()) > 1 else 0
    output_name = session.get_outputs()[output_index].name
    element = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}

    if len(inputs) == 1:
        dtype = element.get(inputs[0].type, np.float32)

        def call(columns: list[np.ndarray], rows: int) -> Any:
            return session.run([output_name], {inputs[0].name: as_matrix(columns, rows).astype(dtype)})[0]

    else:
        by_name = {column.name: index for index, column in enumerate(schema)}

        def call(columns: list[np.ndarray], rows: int) -> Any:
            feed = {i.name: columns[by_name[i.name]].reshape(rows, 1) for i in inputs}
            return session.run([output_name], feed)[0]

    return call, [], None


def _torch_calls(path: Path) -> tuple[Call, list[tuple[str, Call]], list[Any] | None]:
    import torch

    model = torch.load(path, weights_only=False, map_location="cpu")
    if hasattr(model, "eval"):
        model.eval()

    def call(columns: list[np.ndarray], rows: int) -> Any:
        with torch.no_grad():
            return model(torch.from_numpy(as_matrix(columns, rows).astype(np.float32)))

    return call, [], None


def _fastai_calls(path: Path, frame: Callable[[list[np.ndarray], int], Any], predict_proba: bool) -> tuple[Call, list[tuple[str, Call]], list[Any] | None]:
    """A `learn.export()` file, scored as fastai users batch-score: test_dl + get_preds."""
    from fastai.learner import load_learner

    learner = load_learner(path, cpu=True)
    vocab = getattr(learner.dls, "vocab", None)
    classes = list(vocab) if vocab is not None and hasattr(vocab, "__len__") and not isinstance(vocab, str) else None

    def call(columns: list[np.ndarray], rows: int) -> Any:
        loader = learner.dls.test_dl(frame(columns, rows))
        with learner.no_bar(), learner.no_logging():
            predictions, _ = learner.get_preds(dl=loader)
        values = predictions.numpy()
        if classes is not None and not predict_proba and values.ndim == 2:
            return np.asarray(classes, dtype=object)[values.argmax(axis=1)]
        return values

    return call, [], classes


def _keras_calls(path: Path) -> tuple[Call, list[tuple[str, Call]], list[Any] | None]:
    import keras

    model = keras.saving.load_model(path)

    def call(columns: list[np.ndarray], rows: int) -> Any:
        return model.predict(as_matrix(columns, rows).astype(np.float32), verbose=0)

    return call, [], None


def load_predictor(ready_dir: Path, model_id: str, predict_proba: bool) -> Predictor:
    try:
        manifest = read_manifest(ready_dir)
    except (ValueError, KeyError, json.JSONDecodeError) as error:
        raise ModelLoadError(str(error)) from error
    return Predictor(manifest, model_id, predict_proba, ready_dir)
