"""Byom's Python SDK: bring your own model from a notebook, and an MLflow deployments target.

Start with `byom.Client()`; docs/python.md in the Byom repository walks through it.
"""

from byom.client import (
    Catalog,
    Client,
    Deployment,
    Experiment,
    Model,
    ModelVersion,
    Project,
)
from byom.config import Config, resolve_config
from byom.errors import (
    ApiError,
    ByomError,
    ConfigError,
    ConnectionFailed,
    DeploymentFailed,
    IngestionFailed,
    JobFailed,
    UploadFailed,
    WaitTimeout,
)
from byom.jobs import Job
from byom.metadata import Column, Json
from byom.uploads import UploadInterrupted
from byom.waiting import wait_until

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ByomError",
    "Catalog",
    "Client",
    "Column",
    "Config",
    "ConfigError",
    "ConnectionFailed",
    "Deployment",
    "DeploymentFailed",
    "Experiment",
    "IngestionFailed",
    "Job",
    "JobFailed",
    "Json",
    "Model",
    "ModelVersion",
    "Project",
    "UploadFailed",
    "UploadInterrupted",
    "WaitTimeout",
    "resolve_config",
    "wait_until",
]
