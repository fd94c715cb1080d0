"""`python -m byom_scorer`: a supervisor process and one worker per core on one port.

The supervisor binds the port, then forks the workers *before* any model library is imported:
OpenMP runtimes (XGBoost, LightGBM, torch) do not survive a fork after their threads start. Each
worker answers at once (503 on /readyz) and loads the model in a thread; the kernel spreads
connections over the workers, so scoring is not bound to one interpreter's GIL.
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import os
import signal
import socket
import sys
import threading
import warnings

from byom_scorer.config import Settings

log = logging.getLogger("byom_scorer")


def _worker(
    settings: Settings,
    listener: socket.socket,
    index: int,
    loaded: mmap.mmap,
    helper: tuple[socket.socket, socket.socket] | None,
    busy: mmap.mmap | None = None,
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the plain asyncio loop works too, only slower
        pass
    from byom_scorer.app import ScorerApp
    from byom_scorer.server import serve
    from byom_scorer.model import ModelLoadError, load_predictor
    from byom_scorer.peer import Peer

    # Every worker shares the port, so the runtime is ready only when all of them have the model:
    # each marks its byte in memory shared with its siblings, and answers 503 until all are marked.
    # The numpy fast path is only chosen when it predicts exactly what the DataFrame call does.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    app = ScorerApp(settings, all_loaded=lambda: loaded.find(b"\0") == -1)

    def load() -> None:
        try:
            predictor = load_predictor(settings.model_path, settings.model_id, settings.predict_proba)
        except ModelLoadError as error:
            _die(f"cannot load the model: {error}")
        except Exception as error:  # noqa: BLE001 - one line for the deployment's failure reason
            log.exception("model load failed")
            _die(f"cannot load the model: {type(error).__name__}: {' '.join(str(error).split())}")
        if helper is not None:
            app.peer = Peer(*helper, busy=busy, me=index, sibling=(index + 1) % settings.workers)
            app.peer.start_serving(predictor)
        app.model_loaded(predictor)
        loaded[index] = 1
        if index == 0:
            log.info(
                "model %s loaded (%s call, %s for large batches%s, %d workers)",
                settings.model_id, predictor.call_name, predictor.batch_call_name,
                ", split between workers" if helper is not None and predictor.splittable else "", settings.workers,
            )

    threading.Thread(target=load, name="model-load", daemon=True).start()
    asyncio.run(serve(app, listener))


def _helper_channels(workers: int) -> list[tuple[socket.socket, socket.socket]]:
    """(ask, serve) per worker for splitting large batches (byom_scorer.peer), made before the
    fork: worker i asks worker i+1 (mod n), and serves worker i-1."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(workers)]
    return [(pairs[i][0], pairs[(i - 1) % workers][1]) for i in range(workers)]


def _die(reason: str) -> None:
    sys.stderr.write(reason + "\n")
    sys.stderr.flush()
    os._exit(3)


def main() -> None:
    logging.basicConfig(level=os.environ.get("BYOM_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    # One worker per core already uses every core; library thread pools (OpenMP in XGBoost and
    # LightGBM, BLAS, torch) on top of that only fight over the same cores, and single-row
    # predictions pay a thread-team wake-up each. BYOM_THREADS_PER_WORKER overrides.
    threads = os.environ.get("BYOM_THREADS_PER_WORKER") or ("1" if settings.workers > 1 else "")
    if threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((settings.host, settings.port))
    listener.listen(2048)
    listener.setblocking(False)
    loaded = mmap.mmap(-1, settings.workers)
    if settings.workers == 1:
        _worker(settings, listener, 0, loaded, None)
        return
    helpers = _helper_channels(settings.workers)
    busy = mmap.mmap(-1, settings.workers)  # a byte per worker: 1 while it scores a request
    children: list[int] = []
    for index in range(settings.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _worker(settings, listener, index, loaded, helpers[index], busy)
            os._exit(0)
        children.append(pid)
    listener.close()

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A worker that dies takes the runtime down with its exit code: the platform restarts or
    # fails the deployment, which beats serving at half capacity without anyone knowing.
    pid, status = os.wait()
    code = os.waitstatus_to_exitcode(status)
    was_stopping = stopping
    stop(signal.SIGTERM, None)
    for child in children:
        if child != pid:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass
    sys.exit(0 if was_stopping else (code if code > 0 else 1))


if __name__ == "__main__":
    main()
