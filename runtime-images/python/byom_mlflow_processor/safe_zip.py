"""Extraction that refuses zip-slip paths, links and zip bombs before writing a byte."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from byom_ready.processing import ProcessingError


@dataclass(frozen=True)
class ZipLimits:
    max_total_bytes: int = 20 * 1024**3
    max_entries: int = 100_000
    # Ratio of uncompressed to compressed size above which a large member is called a bomb.
    max_ratio: float = 200.0
    ratio_applies_above_bytes: int = 10 * 1024**2

    @staticmethod
    def from_env() -> ZipLimits:
        return ZipLimits(
            max_total_bytes=int(os.environ.get("BYOM_MAX_UNZIPPED_BYTES", 20 * 1024**3)),
            max_entries=int(os.environ.get("BYOM_MAX_ZIP_ENTRIES", 100_000)),
            max_ratio=float(os.environ.get("BYOM_MAX_ZIP_RATIO", 200.0)),
        )


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        raise ProcessingError(f"zip entry {info.filename!r} escapes the archive (zip-slip): refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ProcessingError(f"zip entry {info.filename!r} is a symbolic link: refused")
    return tuple(part for part in path.parts if part not in ("", "."))


def model_root(members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]]) -> tuple[str, ...]:
    """The MLmodel may sit at the root or in one top-level folder (a zipped directory)."""
    roots = [parts[:-1] for info, parts in members if parts and parts[-1] == "MLmodel"]
    if () in roots:
        return ()
    shallow = [root for root in roots if len(root) == 1]
    if len(shallow) == 1:
        return shallow[0]
    if not roots:
        raise ProcessingError("the zip holds no MLmodel file: it is not an MLflow model directory")
    raise ProcessingError("the zip holds several MLmodel files: zip exactly one MLflow model")


def extract_model(archive: Path, destination: Path, limits: ZipLimits) -> None:
    try:
        zipped = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as error:
        raise ProcessingError(f"SOURCE_PATH is not a readable zip archive: {error}") from error
    with zipped:
        infos = zipped.infolist()
        if len(infos) > limits.max_entries:
            raise ProcessingError(f"the zip has {len(infos)} entries, over the limit of {limits.max_entries}")
        members = [(info, _member_parts(info)) for info in infos]
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise ProcessingError(
                f"the zip unpacks to {total} bytes, over the limit of {limits.max_total_bytes} (BYOM_MAX_UNZIPPED_BYTES)"
            )
        for info in infos:
            if info.file_size > limits.ratio_applies_above_bytes and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise ProcessingError(
                    f"zip entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}x: "
                    "refused as a zip bomb"
                )
        root = model_root(members)
        destination.mkdir(parents=True, exist_ok=True)
        resolved_destination = destination.resolve()
        for info, parts in members:
            if parts[: len(root)] != root or len(parts) == len(root):
                continue
            relative = parts[len(root) :]
            out = destination.joinpath(*relative)
            if not out.resolve().is_relative_to(resolved_destination):
                raise ProcessingError(f"zip entry {info.filename!r} escapes the target directory: refused")
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                # ZipExtFile stops at the declared size and checks the CRC, so a lying header cannot
                # write more than the totals checked above.
                with zipped.open(info) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise ProcessingError(f"zip entry {info.filename!r} is corrupt: {error}") from error
