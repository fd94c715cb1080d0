"""Splitting a large batch with the sibling worker (byom_scorer.peer), over real socketpairs."""

from __future__ import annotations

import socket
import threading

import numpy as np

from byom_scorer.model import Outputs
from byom_scorer.peer import Peer


class Doubler:
    """A predictor: one output, twice the first column; counts the rows it was asked for."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.rows: list[int] = []
        self.lock = threading.Lock()

    def predict(self, columns, rows):
        with self.lock:
            self.rows.append(rows)
        if self.fail:
            raise RuntimeError("no")
        return Outputs(["y"], [np.asarray(columns[0]) * 2])


def pair() -> tuple[Peer, Peer]:
    """Two workers' peers, each asking the other, as __main__ wires them for two workers."""
    a_to_b = socket.socketpair()
    b_to_a = socket.socketpair()
    return Peer(a_to_b[0], b_to_a[1]), Peer(b_to_a[0], a_to_b[1])


def test_half_the_rows_are_predicted_by_the_sibling_and_the_answer_is_whole():
    first, second = pair()
    mine, theirs = Doubler(), Doubler()
    second.start_serving(theirs)
    columns = [np.arange(10_001, dtype=np.float64), np.ones(10_001)]
    outputs = first.predict(mine, columns, 10_001)
    assert outputs.names == ["y"] and outputs.columns[0].tolist() == (np.arange(10_001) * 2.0).tolist()
    assert mine.rows == [5000] and theirs.rows == [5001]


def test_both_workers_asking_each_other_at_once_do_not_deadlock():
    first, second = pair()
    a, b = Doubler(), Doubler()
    first.start_serving(a)
    second.start_serving(b)
    results = {}
    columns = [np.arange(4000, dtype=np.float64)]
    threads = [
        threading.Thread(target=lambda: results.setdefault("a", first.predict(a, columns, 4000))),
        threading.Thread(target=lambda: results.setdefault("b", second.predict(b, columns, 4000))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r.columns[0].tolist() == (np.arange(4000) * 2.0).tolist() for r in results.values()) and len(results) == 2


def test_a_failing_sibling_costs_time_not_the_request():
    first, second = pair()
    second.start_serving(Doubler(fail=True))
    mine = Doubler()
    outputs = first.predict(mine, [np.arange(100, dtype=np.float64)], 100)
    assert outputs.columns[0].tolist() == (np.arange(100) * 2.0).tolist()
    assert mine.rows == [50, 50]  # its own half, then the sibling's
    assert first.usable  # a reported failure keeps the channel in step


def test_a_gone_sibling_stops_the_splitting():
    ask, far = socket.socketpair()
    serve, _ = socket.socketpair()
    peer = Peer(ask, serve)
    far.close()
    mine = Doubler()
    outputs = peer.predict(mine, [np.arange(10, dtype=np.float64)], 10)
    assert outputs.columns[0].tolist() == (np.arange(10) * 2.0).tolist()
    assert not peer.usable
