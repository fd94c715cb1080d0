"""Fixtures for the SDK's tests. They run against a real local platform that the project's test
(test/python/sdk.test.ts) starts and points at with BYOM_HOME, with real MLflow models it built
(BYOM_TEST_MODELS: the JSON of test/support/deployments.ts's deployModels())."""

from __future__ import annotations

import json
import os
import uuid

import pytest

import byom


@pytest.fixture(scope="session")
def models() -> dict:
    return json.loads(os.environ["BYOM_TEST_MODELS"])


@pytest.fixture(scope="session")
def client() -> byom.Client:
    return byom.Client(progress=False)


@pytest.fixture()
def project(client: byom.Client) -> byom.Project:
    return client.projects.create(f"sdk-{uuid.uuid4().hex[:8]}")
