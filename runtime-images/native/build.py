"""Compile byom_rows.c into the running interpreter's site-packages (or --out), as the images do.

    python runtime-images/native/build.py [--out DIR] [--cc CC]

No setuptools: the interpreter's own sysconfig gives the compiler, the include folder and the
extension suffix. Writes `byom_rows<EXT_SUFFIX>` plus `byom_rows.sha256` (the source's hash, so
callers can tell a stale build); the file is written under a temporary name and renamed into
place, so a concurrent import never sees half a library.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("byom_rows.c")


def source_hash() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def build(out: Path, cc: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = out / f"byom_rows{suffix}"
    compiler = shlex.split(cc or os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    handle, temporary = tempfile.mkstemp(prefix=".byom_rows-", suffix=suffix, dir=out)
    os.close(handle)
    # -O2 and nothing that relaxes IEEE semantics: the parser's rounding argument needs them exact.
    command = [*compiler, "-O2", "-fPIC", "-shared", "-std=c11", "-Wall", "-Werror", "-I", include, str(SOURCE), "-o", temporary]
    try:
        subprocess.run(command, check=True)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    (out / "byom_rows.sha256").write_text(source_hash() + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(sysconfig.get_paths()["platlib"]))
    parser.add_argument("--cc")
    args = parser.parse_args()
    target = build(args.out, args.cc)
    print(f"byom_rows built: {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
