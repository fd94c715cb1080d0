"""Passphrase check against a salted hash; the runtime never sees the passphrase itself.

BYOM_PASSPHRASE_HASH = `scrypt$<N>$<r>$<p>$<salt-hex>$<key-hex>`, the key being
scrypt(passphrase UTF-8, salt, N, r, p, dklen = len(key)). Node produces it with
`crypto.scryptSync(passphrase, salt, 32, {N: 16384, r: 8, p: 1})`.
"""

from __future__ import annotations

import hashlib
import hmac

from byom_scorer.errors import RequestError

_MAX_CACHED = 64


class PassphraseCheck:
    def __init__(self, encoded: str) -> None:
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
        # scrypt is deliberately slow: remember headers already judged, so a client keeping the
        # same token pays the cost once per worker.
        self._verdicts: dict[str, bool] = {}

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

    def require(self, authorization: str | None) -> None:
        if authorization is None or not authorization.startswith("Bearer "):
            raise RequestError(401, "this deployment needs the header Authorization: Bearer <passphrase>")
        verdict = self._verdicts.get(authorization)
        if verdict is None:
            verdict = self._matches(authorization[len("Bearer ") :])
            if len(self._verdicts) >= _MAX_CACHED:
                self._verdicts.clear()
            self._verdicts[authorization] = verdict
        if not verdict:
            raise RequestError(401, "the passphrase is wrong")
