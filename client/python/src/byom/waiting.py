"""Polling until something settles, the one way every wait in the SDK works (ingestion,
deployments, and any long-running registry operation that answers with something to poll)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from byom.errors import WaitTimeout

T = TypeVar("T")


def wait_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    describe: Callable[[T], str],
    on_poll: Callable[[T], None] | None = None,
    first: T | None = None,
    initial_delay: float = 0.2,
    max_delay: float = 2.0,
) -> T:
    """Calls `fetch` (backing off from `initial_delay` to `max_delay`) until `done` says so.

    `on_poll` sees every state (progress display); `describe` words the WaitTimeout raised after
    `timeout` seconds, e.g. "artifact art-… is still INGESTING".
    """
    deadline = time.monotonic() + timeout
    current = fetch() if first is None else first
    delay = initial_delay
    while True:
        if on_poll:
            on_poll(current)
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise WaitTimeout(f"{describe(current)} after {timeout:g} s; it may still finish: check again later.")
        time.sleep(delay)
        delay = min(max_delay, delay * 1.5)
        current = fetch()
