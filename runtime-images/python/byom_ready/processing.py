"""What both processors share: the SOURCE_PATH/TARGET_PATH contract and its failure shape."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from byom_ready.schema import Column, parse_schema


class ProcessingError(Exception):
    """The artifact cannot become a ready model; the message tells the user what to fix."""


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ProcessingError(f"environment variable {name} is not set")
    return value


def schema_from_env(name: str) -> list[Column] | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        return parse_schema(raw, name)
    except ValueError as error:
        raise ProcessingError(str(error)) from error


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prepare_target(target: Path) -> None:
    """TARGET_PATH may exist (an EFS access point) but must not hold an earlier model."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ProcessingError(f"TARGET_PATH {target} is not empty")


def run_processor(process: Callable[[Path, Path], None]) -> None:
    """Exit 0 on success; otherwise one line on stderr and a non-zero exit (docs/concepts.md)."""
    try:
        source = Path(required_env("SOURCE_PATH"))
        target = Path(required_env("TARGET_PATH"))
        if not source.exists():
            raise ProcessingError(f"SOURCE_PATH {source} does not exist")
        prepare_target(target)
        process(source, target)
    except ProcessingError as error:
        sys.stderr.write(" ".join(str(error).split()) + "\n")
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the contract wants one line, never a traceback
        sys.stderr.write(f"processor fault: {type(error).__name__}: {' '.join(str(error).split())}\n")
        sys.exit(2)
