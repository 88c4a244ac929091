"""Time as a dependency, so tests can freeze it."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol

from app.errors import Stopped


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock: UTC wall time, real sleeps."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class StoppableClock:
    """A clock whose sleeps end as soon as `stop` is set, raising :class:`Stopped`: the worker's
    retry waits and job polls then give way to SIGTERM within moments."""

    def __init__(self, clock: Clock, stop: threading.Event):
        self._clock = clock
        self._stop = stop

    def now(self) -> datetime:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or raise Stopped once the stop event is set (checked even for no wait)."""
        if self._stop.wait(max(seconds, 0.0)):
            raise Stopped("stopping: a wait was cut short")
