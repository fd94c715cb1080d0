"""Scoring metrics (byom_scorer.metrics): EMF lines checked against the format's rules, and counts
from a real runtime with several workers."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from byom_scorer.metrics import MAX_BINS, NAMESPACE, Histogram, Metrics, _compare
from tests.harness import Runtime, frame_request
from tests.models import mixed_frame, ready_sklearn
from tests.test_scorer_api import ARROW, PARQUET, _encode

# The units CloudWatch accepts (PutMetricData's StandardUnit, which EMF's Unit takes).
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def check_emf(document: dict) -> None:
    """The embedded metric format's rules (CloudWatch's "Specification: Embedded metric format"):
    `_aws` holds Timestamp (epoch ms) and CloudWatchMetrics, an array of MetricDirectives, each with
    Namespace, Dimensions (arrays of at most 30 names of root members holding strings) and Metrics
    (at most 100 MetricDefinitions, Name + optional Unit/StorageResolution, no other members); every
    metric named is a root member holding a number, an array of at most 100 numbers, or the
    histogram/statistic-set object (Values/Counts of equal length <= 100, Count, Sum, Min, Max)."""
    metadata = document["_aws"]
    assert set(metadata) <= {"Timestamp", "CloudWatchMetrics", "LogGroupName", "LogStreamName"}
    assert isinstance(metadata["Timestamp"], int) and metadata["Timestamp"] > 1_600_000_000_000
    assert isinstance(metadata["CloudWatchMetrics"], list) and metadata["CloudWatchMetrics"]
    for directive in metadata["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        namespace = directive["Namespace"]
        assert isinstance(namespace, str) and 1 <= len(namespace) <= 255 and namespace.strip(":")
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str) and 1 <= len(value) <= 1024
        assert 1 <= len(directive["Metrics"]) <= 100
        for definition in directive["Metrics"]:
            assert set(definition) <= {"Name", "Unit", "StorageResolution"}
            assert isinstance(definition["Name"], str) and 1 <= len(definition["Name"]) <= 1024
            assert definition.get("Unit", "None") in UNITS
            assert definition.get("StorageResolution", 60) in (1, 60)
            check_value(document[definition["Name"]])


def check_value(value: object) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert math.isfinite(value)
    elif isinstance(value, list):
        assert 1 <= len(value) <= 100 and all(isinstance(v, (int, float)) for v in value)
    else:
        assert isinstance(value, dict)
        assert {"Count", "Sum", "Min", "Max"} <= set(value) <= {"Count", "Sum", "Min", "Max", "Values", "Counts"}
        assert value["Count"] >= 1 and value["Min"] <= value["Max"]
        if "Values" in value:
            assert len(value["Values"]) == len(value["Counts"]) <= MAX_BINS
            assert sum(value["Counts"]) == value["Count"]
            assert all(v > 0 for v in value["Values"]) and all(c >= 1 for c in value["Counts"])


def emf_lines(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"_aws"')]
    for line in lines:
        check_emf(line)
    return lines


def percentile(histogram: dict, p: float) -> float:
    rank, seen = p * histogram["Count"], 0
    for value, count in sorted(zip(histogram["Values"], histogram["Counts"], strict=True)):
        seen += count
        if seen >= rank:
            return value
    raise AssertionError("empty histogram")


def test_a_histogram_fits_cloudwatchs_100_bins_and_keeps_percentiles_within_its_bin_width():
    histogram = Histogram()
    rng = np.random.default_rng(1)
    samples = rng.lognormal(mean=0, sigma=4, size=20_000)  # spans far more than 100 bins of 10 %
    for value in samples:
        histogram.add(float(value))
    value = histogram.emf()
    check_value(value)
    assert len(value["Values"]) <= MAX_BINS
    assert value["Count"] == 20_000 and value["Sum"] == pytest.approx(samples.sum(), rel=1e-6)
    # Merged bins are wider: a percentile stays within one (coarser) bin of the exact one.
    width = value["Values"][1] / value["Values"][0]
    for p in (0.5, 0.9, 0.99):
        exact = float(np.quantile(samples, p))
        assert exact / width <= percentile(value, p) <= exact * width


def test_each_windows_document_follows_the_format_and_counts_user_traffic_apart_from_copies(tmp_path):
    out = tmp_path / "out"
    with out.open("wb") as sink:
        metrics = Metrics("dep-1", "mdl_a-v3", interval=3600, out_fd=sink.fileno(), clock=lambda: 1_700_000_000.5)
        for ms in (2, 4, 8):
            metrics.scored(5, 0.001)
            metrics.observe("/model/score", 200, ms / 1000, None)
        metrics.observe("/model/score", 400, 0.001, None)
        metrics.observe("/model/score", 500, 0.001, None)
        metrics.observe("/model/schema", 200, 0.001, None)  # not scoring: not counted
        metrics.observe("/model/score", 200, 0.001, b"verify")  # the workflow's check: not traffic
        metrics.scored(2, 0.001)
        metrics.observe("/model/score", 200, 0.003, b"copy")
        metrics.flush()
        metrics.flush()  # nothing new: no line
    user, shadow = emf_lines(out)
    assert user["_aws"]["Timestamp"] == 1_700_000_000_500
    [directive] = user["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["DeploymentId", "Target"], ["DeploymentId"]]
    assert (user["DeploymentId"], user["Target"]) == ("dep-1", "mdl_a-v3")
    assert (user["Requests"], user["Rows"], user["Errors4xx"], user["Errors5xx"]) == (5, 15, 1, 1)
    assert user["Latency"]["Count"] == 5 and user["Latency"]["Max"] == 8
    assert user["ScoringTime"]["Count"] == 3
    assert shadow["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["DeploymentId", "Target"]]
    assert (shadow["Requests"], shadow["Rows"]) == (1, 2)


def test_with_capture_on_each_user_line_reports_the_requests_capture_dropped_since_the_last(tmp_path):
    out = tmp_path / "out"
    dropped = 0
    with out.open("wb") as sink:
        metrics = Metrics("dep-1", "mdl_a-v3", interval=3600, out_fd=sink.fileno())
        metrics.capture_dropped = lambda: dropped
        metrics.observe("/model/score", 200, 0.001, None)
        metrics.flush()  # none dropped yet: 0, so a quiet capture reads 0, not missing
        dropped = 7
        metrics.observe("/model/score", 200, 0.001, None)
        metrics.observe("/model/score", 200, 0.001, b"copy")
        metrics.flush()
        dropped = 9
        metrics.observe("/model/score", 200, 0.001, None)
        metrics.flush()
    first, second, copies, third = emf_lines(out)
    assert [line.get("CaptureDropped") for line in (first, second, third)] == [0, 7, 2]
    assert "CaptureDropped" not in copies  # the challenger's copies are not captured traffic
    assert {"Name": "CaptureDropped", "Unit": "Count"} in second["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    # Without capture the line has no such metric.
    plain = tmp_path / "plain"
    with plain.open("wb") as sink:
        metrics = Metrics("dep-1", "mdl_a-v3", interval=3600, out_fd=sink.fileno())
        metrics.observe("/model/score", 200, 0.001, None)
        metrics.flush()
    [line] = emf_lines(plain)
    assert "CaptureDropped" not in line


def answer(fields, rows):
    return json.dumps({"id": "m", "fields": fields, "score": rows}).encode()


def test_labels_decide_agreement_and_numbers_give_the_mean_absolute_difference():
    mine = answer(["label", "p1"], [["1", "0.9"], ["0", "0.2"], ["1", "0.6"]])
    theirs = {"body": answer(["p1", "label"], [["0.8", "1"], ["0.1", "1"], ["0.6", "1"]]).decode()}
    rows, agreed, diffs = _compare(mine, theirs, 1e-6)
    assert (rows, agreed) == (3, 2)
    assert diffs["p1"] == pytest.approx([0.1, 0.1, 0.0])
    # Numbers only (a regressor): equal within the tolerance, relative to the values' size.
    mine = answer(["y"], [["1000.0"], ["2.5"], ["3.0"]])
    theirs = {"body": answer(["y"], [["1000.0005"], ["2.5000001"], ["3.5"]]).decode()}
    assert _compare(mine, theirs, 1e-6)[:2] == (3, 2)
    # Answers that cannot be paired row by row are not compared.
    assert _compare(mine, {"body": answer(["y"], [["1.0"]]).decode()}, 1e-6) is None
    assert _compare(mine, {"body": "not json"}, 1e-6) is None


@pytest.fixture(scope="module")
def regressors(tmp_path_factory):
    frame, label = mixed_frame()
    root = tmp_path_factory.mktemp("metrics")
    target = frame.income / 1000 + label
    champion = LinearRegression().fit(frame, target)
    challenger = LinearRegression().fit(frame.assign(income=frame.income * 1.01), target)
    classifier = LogisticRegression(max_iter=2000).fit(frame, label)
    ready = {}
    for name, model, y in (("champion", champion, target), ("challenger", challenger, target), ("classifier", classifier, label)):
        ready[name] = ready_sklearn(model, frame, root / name)
    return {"frame": frame.head(10), "champion": champion, "challenger": challenger, "classifier": classifier, "ready": ready}


def test_a_runtime_with_two_workers_counts_every_request_once_and_flushes_on_sigterm(regressors, tmp_path):
    out = tmp_path / "runtime.out"
    request = frame_request(regressors["frame"])
    with Runtime(
        regressors["ready"]["classifier"],
        model_id="mdl_c-v1",
        workers=2,
        stdout=out,
        BYOM_DEPLOYMENT_ID="dep-two",
        BYOM_METRICS_INTERVAL_SECONDS="3600",  # only the SIGTERM flush writes
    ) as runtime:
        statuses = [runtime.score(request).status for _ in range(12)]
        statuses += [runtime.score({"fields": ["nope"], "rows": [[1]]}).status for _ in range(3)]
    assert statuses == [200] * 12 + [400] * 3
    lines = emf_lines(out)
    assert 1 <= len(lines) <= 2  # one per worker that served
    assert sum(line["Requests"] for line in lines) == 15
    assert sum(line["Rows"] for line in lines) == 12 * 10
    assert sum(line["Errors4xx"] for line in lines) == 3
    assert sum(line["Errors5xx"] for line in lines) == 0
    assert sum(line["Latency"]["Count"] for line in lines) == 15
    assert all(line["Target"] == "mdl_c-v1" for line in lines)
    assert all("CaptureDropped" not in line for line in lines)  # capture is off


def test_a_capturing_runtime_reports_its_dropped_requests_as_a_metric(regressors, tmp_path):
    out = tmp_path / "runtime.out"
    request = frame_request(regressors["frame"])
    with Runtime(
        regressors["ready"]["classifier"],
        model_id="mdl_c-v1",
        stdout=out,
        BYOM_DEPLOYMENT_ID="dep-capture",
        BYOM_METRICS_INTERVAL_SECONDS="3600",
        BYOM_CAPTURE_URI=f"file://{tmp_path / 'capture'}",
        BYOM_CAPTURE_PERCENT="100",
    ) as runtime:
        assert all(runtime.score(request).status == 200 for _ in range(5))
    [line] = emf_lines(out)
    # The writer kept up (a stalled one is test_capture's): the metric is there, and 0.
    assert (line["Requests"], line["CaptureDropped"]) == (5, 0)


def test_the_champion_emits_how_far_the_challenger_is_from_it(regressors, tmp_path):
    out = tmp_path / "champion.out"
    frame = regressors["frame"]
    request = frame_request(frame)
    with (
        Runtime(regressors["ready"]["challenger"], model_id="mdl_r-v2") as challenger,
        Runtime(
            regressors["ready"]["champion"],
            model_id="mdl_r-v1",
            stdout=out,
            BYOM_DEPLOYMENT_ID="dep-cc",
            BYOM_METRICS_INTERVAL_SECONDS="0.5",
            BYOM_SHADOW_URL=f"http://127.0.0.1:{challenger.port}",
        ) as champion,
    ):
        for _ in range(4):
            assert champion.score(request).status == 200
        # Columnar requests are answered in kind by both, and compared the same way.
        for kind in (ARROW, PARQUET, "text/csv"):
            answer = champion.request("POST", "/model/score", _encode(frame, kind), {"Content-Type": kind})
            assert answer.status == 200 and answer.content_type.startswith(kind)
        deadline = time.monotonic() + 30
        while sum(line.get("ShadowCopies", 0) for line in emf_lines(out)) < 7 and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = emf_lines(out)
    summary = [line for line in lines if "ShadowCopies" in line]
    diffs = [line for line in lines if "ShadowAbsDiff" in line]
    assert sum(line["ShadowCopies"] for line in summary) == 7
    assert sum(line["ShadowFailures"] for line in summary) == 0
    assert sum(line["ShadowRowsCompared"] for line in summary) == 70
    mine = regressors["champion"].predict(frame)
    theirs = regressors["challenger"].predict(frame)
    agreeing = int(np.sum(np.abs(mine - theirs) <= 1e-6 * np.maximum(1, np.maximum(abs(mine), abs(theirs)))))
    assert sum(line["ShadowRowsAgreed"] for line in summary) == 7 * agreeing
    assert all(line["Output"] == "prediction" and line["DeploymentId"] == "dep-cc" for line in diffs)
    count = sum(line["ShadowAbsDiff"]["Count"] for line in diffs)
    total = sum(line["ShadowAbsDiff"]["Sum"] for line in diffs)
    assert count == 70
    assert total / count == pytest.approx(float(np.mean(np.abs(mine - theirs))), rel=1e-6)
    assert all(line["ShadowChampionLatency"]["Count"] >= 1 for line in summary)
    assert os.path.getsize(out) > 0


def test_refusals_before_the_body_count_as_requests_and_4xx_but_not_in_latency(regressors, tmp_path):
    """401 (no or wrong passphrase), 429 (too many failures) and 413 (body over the limit) are
    answered by the server before the app sees a body; they are counted where they are produced."""
    from tests.test_scorer_api import _node_scrypt_hash

    out = tmp_path / "runtime.out"
    request = frame_request(regressors["frame"])
    auth = {"Authorization": "Bearer right one"}
    with Runtime(
        regressors["ready"]["classifier"],
        model_id="mdl_c-v1",
        stdout=out,
        BYOM_DEPLOYMENT_ID="dep-refusals",
        BYOM_METRICS_INTERVAL_SECONDS="3600",
        BYOM_PASSPHRASE_HASH=_node_scrypt_hash("right one"),
        BYOM_AUTH_MAX_FAILURES="3",
        BYOM_MAX_BODY_BYTES="4096",
    ) as runtime:
        statuses = [runtime.score(request, auth).status for _ in range(4)]
        statuses.append(runtime.score({"fields": ["x"], "rows": [["y" * 5000]]}, auth).status)
        # Not scoring requests, and the workflow's verification: not counted.
        statuses.append(runtime.request("GET", "/model/schema", headers=auth).status)
        statuses.append(runtime.score(request, {**auth, "x-byom-shadow": "verify"}).status)
        statuses.append(runtime.score(request).status)  # no passphrase
        statuses += [runtime.score(request, {"Authorization": "Bearer wrong"}).status for _ in range(2)]
        statuses.append(runtime.score(request, auth).status)  # this client failed 3 times: locked out
    assert statuses == [200] * 4 + [413, 200, 200, 401, 401, 401, 429], statuses
    [line] = emf_lines(out)
    assert (line["Requests"], line["Errors4xx"], line["Rows"]) == (9, 5, 4 * 10)
    assert line["Latency"]["Count"] == 4
