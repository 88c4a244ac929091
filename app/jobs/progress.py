"""A beacon the worker's jobs tick as they move on, so the lease renews only while they do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.clock import Clock


class Progress:
    """When each running job last moved on: its start, or Zendesk answering one of its calls.

    Kept per job thread: another job starting every second must not hide one that is stuck.
    """

    def __init__(self, clock: Clock):
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[int, float] = {}  # job thread -> its last progress

    def tick(self) -> None:
        """The calling job moved on (the gateway calls this for every answer it gets)."""
        with self._lock:
            if threading.get_ident() in self._last:
                self._last[threading.get_ident()] = self._clock.monotonic()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the block as a running job, which has just made progress by starting."""
        with self._lock:
            self._last[threading.get_ident()] = self._clock.monotonic()
        try:
            yield
        finally:
            with self._lock:
                del self._last[threading.get_ident()]

    def stalled_for(self) -> float:
        """Seconds the most stuck running job has gone without progress; 0 while none runs (idle is not stuck)."""
        now = self._clock.monotonic()
        with self._lock:
            return max((now - last for last in self._last.values()), default=0.0)
