"""Large batches predicted on two cores: half here, half in the sibling worker.

A worker answers one request at a time, and many models predict with the GIL held (scikit-learn's
gradient boosting does), so a 10,000-row batch would use one core while the other idles. Each
worker therefore has a *helper channel* to its sibling (a socketpair made before the fork): for a
batch of at least `BYOM_SPLIT_ROWS` rows (default 2,000) it sends the second half of the columns
there, predicts the first half itself, and joins the two answers. The sibling serves such halves
on a thread of its own, so two workers asking each other at the same moment do not deadlock (each
waits in a socket call, with its GIL free for the other's half).

Only models whose answers do not depend on the batch are split: at load the predictor checks
that its probe rows predicted in two halves give exactly what they give whole (`splittable`).
If the sibling does not answer in time or fails, the second half is predicted here: the request
never fails because of the split. Messages are pickles between two processes of this runtime.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import threading
from typing import Any

import numpy as np

log = logging.getLogger("byom_scorer")

SPLIT_ROWS = int(os.environ.get("BYOM_SPLIT_ROWS", "2000"))
_HEADER = struct.Struct("!QQ")  # sequence number, payload length
_TIMEOUT_SECONDS = float(os.environ.get("BYOM_SPLIT_TIMEOUT_SECONDS", "60"))


def _send(sock: socket.socket, sequence: int, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(sequence, len(payload)) + payload)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:], size - got)
        if count == 0:
            raise ConnectionError("the sibling worker closed its helper channel")
        got += count
    return bytes(buffer)


def _receive(sock: socket.socket) -> tuple[int, bytes]:
    sequence, length = _HEADER.unpack(_receive_exactly(sock, _HEADER.size))
    return sequence, _receive_exactly(sock, length)


class Peer:
    """This worker's end of the helper channels: `ask` reaches the sibling, `serve` is reached by it.
    `busy` (memory shared by the workers, a byte each) tells whether the sibling is scoring a
    request of its own: a half sent then would wait for it, so the batch is predicted here."""

    def __init__(
        self, ask: socket.socket, serve: socket.socket, busy: Any = None, me: int = 0, sibling: int = 1
    ) -> None:
        self._ask = ask
        self._serve = serve
        self._busy = busy
        self._me = me
        self._sibling = sibling
        self._sequence = 0
        self._broken = False  # after a timeout the stream may hold half a frame: stop asking
        self._ask.settimeout(_TIMEOUT_SECONDS)

    @property
    def usable(self) -> bool:
        return not self._broken and (self._busy is None or self._busy[self._sibling] == 0)

    def scoring(self, active: bool) -> None:
        """Marks this worker busy (or idle again) for its sibling."""
        if self._busy is not None:
            self._busy[self._me] = 1 if active else 0

    def start_serving(self, predictor: Any) -> None:
        threading.Thread(target=self._serve_forever, args=(predictor,), name="sibling-halves", daemon=True).start()

    def _serve_forever(self, predictor: Any) -> None:
        while True:
            try:
                sequence, payload = _receive(self._serve)
            except (ConnectionError, OSError):
                return  # the sibling is gone: the supervisor stops this runtime anyway
            try:
                columns, rows = pickle.loads(payload)
                outputs = predictor.predict(columns, rows)
                answer = pickle.dumps((True, (outputs.names, outputs.columns)), protocol=5)
            except Exception as error:  # noqa: BLE001 - reported to the asking worker, which predicts itself
                answer = pickle.dumps((False, f"{type(error).__name__}: {error}"), protocol=5)
            try:
                _send(self._serve, sequence, answer)
            except OSError:
                return

    def predict(self, predictor: Any, columns: Any, rows: int) -> Any:
        """The predictor's Outputs for all rows, the second half predicted by the sibling."""
        half = rows // 2
        first = [np.asarray(column)[:half] for column in columns]
        second = [np.asarray(column)[half:] for column in columns]
        self._sequence += 1
        sequence = self._sequence
        try:
            _send(self._ask, sequence, pickle.dumps((second, rows - half), protocol=5))
            asked = True
        except OSError as error:
            self._broken = True
            log.warning("could not hand half a batch to the sibling worker (%s); predicting it here", error)
            asked = False
        mine = predictor.predict(first, half)
        theirs = self._answer(sequence) if asked else None
        if theirs is None:
            theirs = predictor.predict(second, rows - half)
        else:
            names, answer_columns = theirs
            theirs = type(mine)(names, answer_columns)
        if theirs.names != mine.names or len(theirs.columns) != len(mine.columns):
            raise ValueError("the two halves of a batch came back with different output fields")
        return type(mine)(mine.names, [np.concatenate((a, b)) for a, b in zip(mine.columns, theirs.columns, strict=True)])

    def _answer(self, sequence: int) -> Any:
        try:
            while True:
                got, payload = _receive(self._ask)
                if got == sequence:
                    break  # earlier sequence numbers: answers that came after their timeout
        except (OSError, ConnectionError) as error:
            self._broken = True
            log.warning(
                "the sibling worker did not return its half of a batch (%s); predicting it here, "
                "and no longer splitting batches in this worker", error,
            )
            return None
        ok, value = pickle.loads(payload)
        if not ok:
            log.warning("the sibling worker failed on its half of a batch (%s); predicting it here", value)
            return None
        return value
