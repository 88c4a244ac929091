"""The worker's clock: a sleep ends as soon as the stop event is set."""

import threading
import time

import pytest

from app.clock import StoppableClock, SystemClock
from app.errors import Stopped


def test_a_long_sleep_ends_at_the_stop_and_no_sleep_starts_after_it():
    stop = threading.Event()
    clock = StoppableClock(SystemClock(), stop)
    clock.sleep(0.01)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        clock.sleep(30)
    assert time.monotonic() - started < 1
    with pytest.raises(Stopped):
        clock.sleep(0)
