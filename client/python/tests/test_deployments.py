"""Deployments in every mode and security option, update, delete, scoring DataFrames, capture, metrics and drift."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

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


def test_capture_metrics_and_drift(versions, models: dict) -> None:
    v1, _ = versions
    with pytest.raises(byom.ApiError) as refused:
        v1.deploy(name="over", capture=150)
    assert (refused.value.status, refused.value.code) == (400, "VALIDATION_FAILED")
    assert "over" not in [d.name for d in v1.model.project.deployments.list()]

    watched = v1.deploy(name="watched", capture=100, baseline_rows=20)
    assert watched.data["capture"] == {"samplePercent": 100, "baselineRows": 20}
    frame = rows(models)
    for _ in range(3):
        watched.score(frame)  # 75 rows: the first 20 are the baseline

    # The runtime reports metrics every 10 s and writes captured rows in batches: poll.
    deadline = time.monotonic() + 120
    while True:
        metrics = watched.metrics(start=datetime.now(timezone.utc) - timedelta(minutes=10))
        report = watched.drift()
        totals = metrics["deployment"]["totals"]
        target = report["targets"][0]
        if (totals["requests"] or 0) >= 3 and target["baseline"]["rows"] == 20 and target["rows"] >= 55:
            break
        assert time.monotonic() < deadline, f"metrics {totals}, drift rows {target['baseline']} {target['rows']}"
        time.sleep(1)
    assert totals["rows"] == 75
    assert (totals["errors4xx"] or 0, totals["errors5xx"] or 0) == (0, 0)
    assert [t["version"] for t in metrics["targets"]] == [1]
    assert target["baseline"] == {"source": "captured", "rows": 20, "wanted": 20}
    assert target["rows"] == 55
    assert {c["name"] for c in target["columns"]} >= set(models["expected"]["fields"])
    assert isinstance(target["drifted"], bool)

    watched.set_capture(0)
    assert watched.data["capture"]["samplePercent"] == 0
    assert watched.data["liveRevision"] == 2
    with pytest.raises(byom.ByomError):
        v1.deploy(name="rows-alone", baseline_rows=10)
    watched.delete()
