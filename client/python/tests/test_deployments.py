"""Deployments in every mode and security option, update, delete, and scoring DataFrames."""

from __future__ import annotations

import pandas as pd
import pytest

import byom


@pytest.fixture(scope="module")
def versions(client: byom.Client, models: dict) -> tuple[byom.ModelVersion, byom.ModelVersion]:
    project = client.projects.create("sdk-deployments")
    model = project.models.create("churn")
    return (
        project.upload(models["v1"], name="churn-v1").register(model),
        project.upload(models["v2"], name="churn-v2").register(model),
    )


def rows(models: dict) -> pd.DataFrame:
    expected = models["expected"]
    return pd.DataFrame(expected["rows"], columns=expected["fields"]).astype({"age": "int64"})


def test_deploys_scores_a_dataframe_in_batches_updates_and_deletes(versions, models: dict) -> None:
    v1, v2 = versions
    deployment = v1.deploy(name="churn")
    assert deployment.status == "HEALTHY"
    assert deployment.endpoint_url

    frame = rows(models).set_index(pd.RangeIndex(100, 125))
    scores = deployment.score(frame, batch_rows=7)  # 25 rows: four requests
    assert list(scores.columns) == ["prediction"]
    assert str(scores["prediction"].dtype) == "Int64"
    assert list(scores.index) == list(frame.index)
    assert [str(v) for v in scores["prediction"]] == models["expected"]["v1"]
    with_input = deployment.score(frame.head(3), include_input=True)
    assert {"age", "income", "tenure", "prediction"} <= set(with_input.columns)
    assert str(with_input["income"].dtype) == "float64"

    bad = frame.head(1).assign(age="not-a-number")
    with pytest.raises(byom.ApiError) as refused:
        deployment.score(bad)
    assert refused.value.status == 400

    deployment.update(v2)
    assert deployment.data["serving"][0]["version"] == 2
    assert [str(v) for v in deployment.score(frame)["prediction"]] == models["expected"]["v2"]

    deployment.delete()
    assert deployment.status == "DELETED"
    assert "churn" not in [d.name for d in v1.model.project.deployments.list()]


def test_ab_behind_a_passphrase_and_champion_challenger(versions, models: dict) -> None:
    v1, v2 = versions
    project = v1.model.project
    passphrase = "correct horse battery staple"
    split = project.deploy([v1, v2], name="split", mode="ab", weights=[70, 30], passphrase=passphrase)
    assert [(s["version"], s["weight"]) for s in split.data["serving"]] == [(1, 70), (2, 30)]
    assert split.data["security"] == {"mode": "passphrase"}

    locked = project.deployments.get("split")
    locked.passphrase = None
    with pytest.raises(byom.ApiError) as refused:
        locked.score(rows(models))
    assert refused.value.status == 401
    assert "passphrase" in refused.value.message
    assert len(locked.score(rows(models), passphrase=passphrase)) == 25
    assert len(split.score(rows(models))) == 25  # the object that deployed it remembers it

    split.update([(v1.model.name, 1), (v1.model.name, 2)], weights=[50, 50])
    assert [s["weight"] for s in split.data["serving"]] == [50, 50]

    cc = project.deploy([("churn", 1), ("churn", 2)], name="cc", mode="champion_challenger")
    assert [s["role"] for s in cc.data["serving"]] == ["champion", "challenger"]
    # The champion answers; the challenger only gets shadow copies.
    assert [str(v) for v in cc.score(rows(models))["prediction"]] == models["expected"]["v1"]
    for deployment in (split, cc):
        deployment.delete()


def test_a_deployment_that_cannot_serve_raises_with_the_reason(client: byom.Client, models: dict) -> None:
    project = client.projects.create("sdk-failures")
    version = project.upload(models["brokenLoader"], name="broken").register("broken")
    with pytest.raises(byom.DeploymentFailed) as failed:
        version.deploy(name="broken", timeout=600)
    assert failed.value.deployment["status"] == "FAILED"
    assert failed.value.deployment["failureReason"]


def test_resources_size_each_target_on_create_and_update(versions, models: dict) -> None:
    v1, v2 = versions
    project = v1.model.project
    # 0.25 vCPU runs with 512, 1024 or 2048 MiB on Fargate: refused before anything starts.
    with pytest.raises(byom.ApiError) as refused:
        v1.deploy(name="too-small", resources={"cpu": 0.25, "memoryMiB": 4096})
    assert (refused.value.status, refused.value.code) == (400, "VALIDATION_FAILED")
    assert "0.25 vCPU with 512, 1024, 2048 MiB" in refused.value.message
    assert [d["path"] for d in refused.value.details if str(d.get("path", "")).endswith("memoryMiB")]
    assert "too-small" not in [d.name for d in project.deployments.list()]

    size = {"cpu": "0.5", "memoryMiB": 1024, "replicas": {"min": 1, "max": 2}}
    sized = v1.deploy(name="sized", resources={"cpu": 0.5, "memoryMiB": 1024, "replicas": {"min": 1, "max": 2}})
    assert sized.data["targets"][0]["resources"] == size
    assert sized.data["serving"][0]["resources"] == size

    sized.update(v2)  # a new version keeps the target's size
    assert [(s["version"], s["resources"]) for s in sized.data["serving"]] == [(2, size)]

    with pytest.raises(byom.ApiError) as bad:
        sized.update(resources={"replicas": {"min": 3, "max": 2}})
    assert (bad.value.status, bad.value.code) == (400, "VALIDATION_FAILED")
    assert any(str(d.get("path", "")).endswith("replicas") for d in bad.value.details)
    assert sized.refresh().data["serving"][0]["resources"] == size  # unchanged, still serving

    sized.update(resources={"cpu": 1, "memoryMiB": 3072})  # resized in place, zero downtime
    assert sized.data["serving"][0]["resources"] == {"cpu": "1", "memoryMiB": 3072, "replicas": {"min": 1, "max": 1}}
    assert [str(v) for v in sized.score(rows(models))["prediction"]] == models["expected"]["v2"]
    sized.delete()
