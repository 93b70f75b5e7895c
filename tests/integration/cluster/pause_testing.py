"""A NATS server that answers too late: what a process's start meets while a stream leader
is elected, or while the answer waits behind a long history applied on the same loop."""

from __future__ import annotations

import os
import signal
import threading
from typing import Final

from perpdex.cluster.nats_server import NatsCluster

API_TIMEOUT_S: Final = 2.0
"""The tests' JetStream API timeout (the followers' own): a pause outlasts it."""
PAUSE_S: Final = 3.0


class Paused:
    """``with Paused(server) as pause``: node 0 SIGSTOPped for ``PAUSE_S``, then SIGCONTed
    by a timer, so every request sent meanwhile times out. ``pause.over`` once it runs
    again; the block waits for that at its end."""

    def __init__(self, server: NatsCluster) -> None:
        pid = server.pid(0)
        assert pid is not None
        self._pid = pid
        self.over = threading.Event()
        self._timer = threading.Timer(PAUSE_S, self._resume)

    def __enter__(self) -> Paused:
        os.kill(self._pid, signal.SIGSTOP)
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.join()

    def _resume(self) -> None:
        os.kill(self._pid, signal.SIGCONT)
        self.over.set()
