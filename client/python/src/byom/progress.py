"""Progress display: tqdm's auto bar (a widget in Jupyter, a text bar in a terminal), or nothing."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total: int | None, description: str, enabled: bool, initial: int = 0, unit: str = "B") -> None:
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total,
                initial=initial,
                desc=description,
                unit=unit,
                unit_scale=unit == "B",
                unit_divisor=1024 if unit == "B" else 1000,
                file=sys.stderr,
                leave=True,
                dynamic_ncols=True,
            )

    def add(self, delta: int) -> None:
        if self._bar is not None:
            self._bar.update(delta)

    def set(self, done: int, total: int | None = None) -> None:
        """Moves the bar to `done` (of `total`, when it became known): a job reports where it is."""
        if self._bar is not None:
            if total is not None and self._bar.total != total:
                self._bar.total = total
            self._bar.update(done - self._bar.n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_enabled() -> bool:
    """On in notebooks and terminals, off when stderr goes to a file or pipe (logs, CI)."""
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]

        if get_ipython() is not None and "IPKernelApp" in get_ipython().config:
            return True
    except Exception:  # noqa: BLE001 (no IPython: not a notebook)
        pass
    return sys.stderr.isatty()
