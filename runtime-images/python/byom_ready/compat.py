"""Refuse, at processing, a scikit-learn model saved by another scikit-learn than the runtime's.

scikit-learn does not support loading a model with another version than the one that saved it:
such a model may fail to load (trees from 1.1 do not load in 1.3+) or, worse, load and predict
differently. The processors read the saving version as data (MLmodel's `sklearn_version`, or the
`_sklearn_version` string inside a pickle, found by scanning its bytes: nothing is unpickled) and
compare it with the version pinned in the tabular runtime image's requirements.txt, which the
processor images carry as /app/runtime-pins/ (docs/runtimes.md, "Models from other versions").
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from byom_ready.processing import ProcessingError

RUNTIME = "python-tabular-runtime"
_RUNTIME_IMAGE = "tabular-runtime"
_PIN_DIRS = (Path("/app/runtime-pins"), Path(__file__).resolve().parents[2])
_SCAN_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_KEY = b"_sklearn_version"


def pinned_version(package: str = "scikit-learn") -> str | None:
    """The version the tabular runtime image pins, or None when its requirements are not here."""
    for folder in _PIN_DIRS:
        pins = folder / _RUNTIME_IMAGE / "requirements.txt"
        if pins.is_file():
            for line in pins.read_text().splitlines():
                name, _, version = line.partition("==")
                if name.strip().lower() == package:
                    return version.strip()
    return None


def _minor(version: str) -> tuple[str, ...]:
    return tuple(re.split(r"[.+]", version)[:2])


def check_sklearn(saved: str | None, how_to_resave: str) -> None:
    """Raises ProcessingError (one line naming both versions and the ways out) on a mismatch."""
    pinned = pinned_version()
    if saved is None or pinned is None or _minor(saved) == _minor(pinned):
        return
    raise ProcessingError(
        f"the model was saved with scikit-learn {saved}, but {RUNTIME} serves scikit-learn {pinned}, and "
        f"scikit-learn does not support loading a model across versions (it can fail to load or predict "
        f"differently). Re-save it with scikit-learn {'.'.join(_minor(pinned))}.x ({how_to_resave}), or serve it "
        f"from a custom runtime image with scikit-learn {saved} (POST /v1/catalog/runtimes, then deploy with "
        f"that runtime)"
    )


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as raw:
        head = raw.read(6)
    opener = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ": lzma.open}
    for magic, open_ in opener.items():
        if head.startswith(magic):
            with open_(path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    yield chunk
            return
    if head[:1] == b"\x78":  # joblib's zlib container: a raw zlib stream
        decompressor = zlib.decompressobj()
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                yield decompressor.decompress(chunk)
        return
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _string_after(data: bytes, at: int) -> str | None:
    """The pickled str following the key at `at` (after an optional memo opcode)."""
    if data[at : at + 1] == b"\x94":  # MEMOIZE
        at += 1
    elif data[at : at + 1] == b"q":  # BINPUT
        at += 2
    elif data[at : at + 1] == b"r":  # LONG_BINPUT
        at += 5
    opcode = data[at : at + 1]
    if opcode in (b"\x8c", b"U"):  # SHORT_BINUNICODE, SHORT_BINSTRING
        length = data[at + 1] if at + 1 < len(data) else 0
        value = data[at + 2 : at + 2 + length]
    elif opcode in (b"X", b"T"):  # BINUNICODE, BINSTRING
        length = int.from_bytes(data[at + 1 : at + 5], "little")
        value = data[at + 5 : at + 5 + min(length, 64)]
    else:
        return None
    text = value.decode("utf-8", "replace")
    return text if re.fullmatch(r"\d+\.\d+[\w.+-]*", text) else None


def sklearn_version_in_pickle(path: Path) -> str | None:
    """The `_sklearn_version` an estimator pickled into the file, read from its bytes (not unpickled)."""
    carry = b""
    seen = 0
    try:
        for chunk in _chunks(path):
            data = carry + chunk
            found = data.find(_KEY)
            while found >= 0:
                version = _string_after(data, found + len(_KEY))
                if version is not None:
                    return version
                found = data.find(_KEY, found + 1)
            carry = data[-128:]
            seen += len(chunk)
            if seen > _SCAN_LIMIT:
                return None
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        return None
    return None
