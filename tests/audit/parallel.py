"""Run writer threads against a real database while a signer thread keeps signing checkpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable

from audit import checkpoints
from tests.audit.conftest import SYSTEM


def run_writers_with_signer(make_session, writer: Callable[[int], None], threads_n: int, *, key_dir,
                            origin: str) -> list[int]:
    """Start ``threads_n`` writers (``writer(t)``) and one checkpoint signer together; wait for the
    writers, stop the signer, fail on any thread's exception; return the sizes the signer signed."""
    barrier = threading.Barrier(threads_n + 1)
    failures: list[BaseException] = []
    signed: list[int] = []
    stop = threading.Event()

    def guarded(t: int) -> None:
        try:
            barrier.wait()
            writer(t)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def signer() -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                with make_session() as s:
                    signed.append(checkpoints.checkpoint_sign(s, SYSTEM, key_dir=key_dir, origin=origin).tree_size)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    workers = [threading.Thread(target=guarded, args=(t,)) for t in range(threads_n)]
    sign_thread = threading.Thread(target=signer)
    for th in [*workers, sign_thread]:
        th.start()
    for th in workers:
        th.join(120)
    stop.set()
    sign_thread.join(120)
    assert not failures, failures
    return signed
