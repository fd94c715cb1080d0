"""Passphrase check against a salted hash; the runtime never sees the passphrase itself.

BYOM_PASSPHRASE_HASH = `scrypt$<N>$<r>$<p>$<salt-hex>$<key-hex>`, the key being
scrypt(passphrase UTF-8, salt, N, r, p, dklen = len(key)). Node produces it with
`crypto.scryptSync(passphrase, salt, 32, {N: 16384, r: 8, p: 1})`.

The server calls `require` as soon as a request's headers are in, before it reads the body: an
unauthenticated client cannot make the runtime buffer (or spool) a large body. Failed attempts
are limited per client (docs/runtimes.md): scrypt is slow on purpose, and a client guessing
would otherwise spend the worker's time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict

from byom_scorer.errors import RequestError

_MAX_CACHED = 1024
_MAX_CLIENTS = 4096


class PassphraseCheck:
    def __init__(self, encoded: str, max_failures: int | None = None, window_seconds: float | None = None) -> None:
        try:
            scheme, n, r, p, salt, key = encoded.split("$")
            if scheme != "scrypt":
                raise ValueError(f"scheme {scheme!r} is not scrypt")
            self._n, self._r, self._p = int(n), int(r), int(p)
            self._salt, self._key = bytes.fromhex(salt), bytes.fromhex(key)
        except ValueError as error:
            raise SystemExit(
                f"BYOM_PASSPHRASE_HASH is not scrypt$<N>$<r>$<p>$<salt-hex>$<key-hex>: {error}"
            ) from error
        # scrypt is deliberately slow: remember headers already judged (least recently used out
        # first), so a client keeping the same token pays the cost once per worker.
        self._verdicts: OrderedDict[str, bool] = OrderedDict()
        self.max_failures = max_failures if max_failures is not None else int(os.environ.get("BYOM_AUTH_MAX_FAILURES", "10"))
        self.window = window_seconds if window_seconds is not None else float(os.environ.get("BYOM_AUTH_WINDOW_SECONDS", "60"))
        # client -> (failures in the current window, when the window started)
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def _matches(self, passphrase: str) -> bool:
        derived = hashlib.scrypt(
            passphrase.encode(),
            salt=self._salt,
            n=self._n,
            r=self._r,
            p=self._p,
            maxmem=256 * 1024**2,
            dklen=len(self._key),
        )
        return hmac.compare_digest(derived, self._key)

    def _verdict(self, authorization: str) -> bool:
        verdicts = self._verdicts
        verdict = verdicts.get(authorization)
        if verdict is not None:
            verdicts.move_to_end(authorization)
            return verdict
        verdict = self._matches(authorization[len("Bearer ") :])
        verdicts[authorization] = verdict
        if len(verdicts) > _MAX_CACHED:
            verdicts.popitem(last=False)
        return verdict

    def require(self, authorization: str | None, client: str) -> None:
        """Raises 401 (no or wrong passphrase) or 429 (too many failures from `client`)."""
        now = time.monotonic()
        failures, since = self._failures.get(client, (0, now))
        if now - since >= self.window:
            failures, since = 0, now
        if failures >= self.max_failures:
            retry = max(1, int(self.window - (now - since)) + 1)
            raise RequestError(
                429, f"too many failed passphrase attempts from {client}: retry in {retry} s", retry_after=retry
            )
        if authorization is not None and authorization.startswith("Bearer ") and self._verdict(authorization):
            return
        self._failures[client] = (failures + 1, since)
        self._failures.move_to_end(client)
        if len(self._failures) > _MAX_CLIENTS:
            self._failures.popitem(last=False)
        if authorization is None or not authorization.startswith("Bearer "):
            raise RequestError(401, "this deployment needs the header Authorization: Bearer <passphrase>")
        raise RequestError(401, "the passphrase is wrong")


def client_address(forwarded_for: bytes | None, peer: str) -> str:
    """The client as the load balancer saw it: the right-most X-Forwarded-For entry, which the
    ALB (and local mode's router) appends; entries to its left come from the client and can be
    forged. Without the header (a direct connection), the peer address."""
    if forwarded_for:
        last = forwarded_for.rsplit(b",", 1)[-1].strip()
        if last:
            return last.decode("latin-1")
    return peer
