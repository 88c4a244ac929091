"""One background thread that handles queued tasks one at a time, in the order they were queued."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SerialWorker(Generic[T]):
    """Passes each submitted task to `handle` on a daemon thread started by the first submit.

    If `handle` raises, `on_error(task, error)` is called from inside the ``except`` block
    (so ``log.exception`` works there) and the worker moves on to the next task.
    """

    def __init__(self, name: str, handle: Callable[[T], None], on_error: Callable[[T, Exception], None]):
        self._name = name
        self._handle = handle
        self._on_error = on_error
        self._queue: deque[T] = deque()
        self._wake = threading.Condition()
        self._busy = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, task: T) -> None:
        """Queue `task` behind those already submitted."""
        with self._wake:
            self._queue.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted task has been handled; False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self) -> None:
        """Stop the worker; a running task sees it through `pause`, queued tasks stay queued."""
        self._stopped.set()
        with self._wake:
            self._wake.notify_all()

    def pause(self, seconds: float) -> bool:
        """Wait `seconds` unless stopped first; True if the worker has been stopped."""
        return self._stopped.wait(seconds)

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._stopped.is_set())
                if self._stopped.is_set():
                    return
                task = self._queue.popleft()
                self._busy = True
            try:
                self._handle(task)
            except Exception as error:  # one bad task must not kill the worker and strand the rest
                self._on_error(task, error)
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()
