"""Projects, experiments with typed metadata and schemas, models and versions, catalog, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import byom


def test_imports_the_installed_wheel_not_the_source_tree() -> None:
    assert "site-packages" in byom.__file__


def test_projects_are_created_found_by_name_or_id_and_listed(client: byom.Client, project: byom.Project) -> None:
    assert client.projects.get(project.name).id == project.id
    assert client.project(project.id).name == project.name
    assert project.id in [p.id for p in client.projects.list()]
    assert client.projects.get_or_create(project.name).id == project.id


def test_metadata_round_trips_with_its_types(project: byom.Project) -> None:
    trained = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
    experiment = project.experiments.create(
        "gbm-1", metadata={"auc": 0.91, "rows": 9_000_000_000, "flag": True, "note": "first", "trained": trained, "params": {"depth": 3}}
    )
    assert experiment.data["metadata"]["rows"] == {"int64_value": "9000000000"}
    assert experiment.metadata == {
        "auc": 0.91,
        "rows": 9_000_000_000,
        "flag": True,
        "note": "first",
        "trained": trained,
        "params": {"depth": 3},
    }
    experiment.update_metadata({"auc": None, "label": byom.Json("churn")})
    again = project.experiments.get("gbm-1")
    assert "auc" not in again.metadata
    assert again.data["metadata"]["label"] == {"json_value": "churn"}


def test_a_schema_comes_from_a_dataframe_and_is_stored_canonical(project: byom.Project) -> None:
    frame = pd.DataFrame({"age": pd.Series([1], dtype="int32"), "income": [1.5], "vip": [True], "city": ["x"]})
    experiment = project.experiments.create("with-schema").set_schema(input=frame, output={"churn": "float64"})
    assert experiment.input_schema == [
        byom.Column("age", "Int32"),
        byom.Column("income", "Float64"),
        byom.Column("vip", "Boolean"),
        byom.Column("city", "String"),
    ]
    assert experiment.output_schema == [byom.Column("churn", "Float64")]


def test_api_errors_carry_code_message_and_details(project: byom.Project) -> None:
    experiment = project.experiments.create("bad-schema")
    with pytest.raises(byom.ApiError) as caught:
        experiment.set_schema(input={"age": "Decimal"})
    error = caught.value
    assert error.status == 400
    assert error.code == "INVALID_SCHEMA"
    assert "Decimal" in error.message
    assert isinstance(error.details, list)
    with pytest.raises(byom.ApiError) as missing:
        project.experiments.get("no-such-experiment")
    assert missing.value.code == "NOT_FOUND"


def test_models_and_versions_number_from_one(project: byom.Project, models: dict) -> None:
    first = project.upload(models["v1"], name="churn-v1")
    second = project.upload(models["v2"], name="churn-v2")
    model = project.models.create("churn", description="churn classifier")
    assert first.register(model).number == 1
    assert second.register("churn").number == 2
    assert [v.number for v in model.versions()] == [1, 2]
    assert model.version(2).experiment.id == second.id
    assert model.latest().number == 2
    assert project.experiments.get("churn-v1").registered_as == {"modelId": model.id, "version": 1}
    with pytest.raises(byom.ApiError) as twice:
        model.register(first)
    assert twice.value.code == "CONFLICT"


def test_catalog_reads(client: byom.Client) -> None:
    runtimes = client.catalog.list("runtimes")
    assert "python-tabular-runtime" in [r["name"] for r in runtimes]
    compositions = client.catalog.compositions(artifact_type="python/mlflow")
    assert any(c["runtime"] == "python-tabular-runtime" and "sklearn" in c["frameworks"] for c in compositions)
    with pytest.raises(byom.ByomError, match="Unknown catalog kind"):
        client.catalog.list("nope")


def test_configuration_follows_the_cli(tmp_path: Path) -> None:
    with pytest.raises(byom.ConfigError, match="does not exist"):
        byom.resolve_config(env={"BYOM_HOME": str(tmp_path)})
    (tmp_path / "local.json").write_text('{"apiUrl": "http://127.0.0.1:1/", "token": "t"}')
    local = byom.resolve_config(env={"BYOM_HOME": str(tmp_path)})
    assert (local.mode, local.api_url) == ("local", "http://127.0.0.1:1")
    aws = byom.resolve_config(env={"BYOM_API_URL": "https://abc.execute-api.eu-west-1.amazonaws.com/prod"})
    assert (aws.mode, aws.auth.region) == ("aws", "eu-west-1")
    with pytest.raises(byom.ConfigError, match="region"):
        byom.resolve_config(env={"BYOM_API_URL": "https://api.example.com"})
    with pytest.raises(byom.ConnectionFailed, match="Cannot reach"):
        byom.Client(config=local).health()
