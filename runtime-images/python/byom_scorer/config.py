"""The runtime's environment, read once at start and failing fast when something is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    model_path: Path
    model_id: str
    port: int
    host: str
    workers: int
    max_body_bytes: int
    passphrase_hash: str | None
    batch_dir: Path | None
    predict_proba: bool
    shadow_url: str | None = None
    shadow_queue: int = 256
    # Columnar bodies are spooled to disk as they arrive and read batch by batch: their limit
    # can be far larger than the JSON one (a million-row CSV is ~100 MB).
    max_columnar_bytes: int = 4 * 1024**3
    model_name: str | None = None  # the deployment's name: the V2 model name through its endpoint
    capture_uri: str | None = None  # request capture (byom_scorer.capture): where, and what share
    capture_percent: float = 0.0

    @staticmethod
    def from_env() -> Settings:
        model_path = os.environ.get("MODEL_PATH")
        model_id = os.environ.get("MODEL_ID")
        if not model_path or not model_id:
            raise SystemExit("MODEL_PATH and MODEL_ID must be set (docs/scorer-api.md, image contract)")
        batch_dir = os.environ.get("BYOM_BATCH_DIR")
        return Settings(
            model_path=Path(model_path),
            model_id=model_id,
            port=int(os.environ.get("PORT", "8080")),
            host=os.environ.get("BYOM_HOST", "0.0.0.0"),
            workers=max(1, int(os.environ.get("BYOM_WORKERS") or os.cpu_count() or 1)),
            max_body_bytes=int(os.environ.get("BYOM_MAX_BODY_BYTES", str(64 * 1024**2))),
            passphrase_hash=os.environ.get("BYOM_PASSPHRASE_HASH") or None,
            batch_dir=Path(batch_dir) if batch_dir else None,
            predict_proba=_flag("BYOM_PREDICT_PROBA"),
            # Champion/challenger: where the champion mirrors its score requests (byom_scorer.shadow).
            shadow_url=os.environ.get("BYOM_SHADOW_URL") or None,
            shadow_queue=int(os.environ.get("BYOM_SHADOW_QUEUE", "256")),
            max_columnar_bytes=int(os.environ.get("BYOM_MAX_COLUMNAR_BYTES", str(4 * 1024**3))),
            model_name=os.environ.get("BYOM_MODEL_NAME") or None,
            capture_uri=os.environ.get("BYOM_CAPTURE_URI") or None,
            capture_percent=float(os.environ.get("BYOM_CAPTURE_PERCENT") or "0"),
        )
