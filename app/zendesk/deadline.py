"""A whole-call deadline for HTTP requests, and a way to cut them short when the worker stops.

requests' timeout bounds each socket read, so a server that sends a byte every few seconds
holds a call forever. One watcher thread per session shuts down the socket of any call that
outlives its deadline, or is still running when the stop event is set; the blocked read then
fails at once and the session tells why.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

WATCH_INTERVAL = 0.2  # seconds: how late a deadline or a stop may be noticed

# The call the current thread is making, so the pool can tell it which connection it got.
_current = threading.local()


@dataclass(eq=False)
class WatchedCall:
    """One HTTP exchange under watch: its deadline, and why it was cut short, if it was."""

    deadline: float
    # The socket itself, not its connection: once an answer says "Connection: close", http.client
    # drops the connection's reference and only the answer, still being read, holds the socket.
    sock: socket.socket | None = None
    cut: str | None = None  # "deadline" or "stop"

    def shut(self) -> None:
        """Fail any read or write blocked on the socket (socket.shutdown wakes them; close does not)."""
        if self.sock is not None:
            try:
                # The plain socket's method: an SSL socket's own shutdown() tears down its SSL state
                # under the thread that is reading.
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: nothing is blocked on it


class CallWatcher:
    """Watches calls in flight; cuts those past their deadline, or all of them once `stop` is set."""

    def __init__(self, stop: threading.Event | None = None):
        self.stop = stop
        self._calls: set[WatchedCall] = set()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, seconds: float) -> Iterator[WatchedCall]:
        """Watch the HTTP exchange made inside the block, which must end within `seconds`."""
        call = WatchedCall(deadline=time.monotonic() + seconds)
        with self._lock:
            self._calls.add(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="zendesk-deadlines", daemon=True)
                self._thread.start()
            if len(self._calls) == 1:
                self._lock.notify()  # the watcher sleeps without a timeout while no call is in flight
        _current.call = call
        try:
            yield call
        finally:
            _current.call = None
            with self._lock:
                self._calls.discard(call)

    def _watch(self) -> None:
        while True:
            with self._lock:
                while not self._calls:
                    self._lock.wait()
                now = time.monotonic()
                for call in self._calls:
                    if call.cut is None and self.stop is not None and self.stop.is_set():
                        call.cut = "stop"
                    elif call.cut is None and now >= call.deadline:
                        call.cut = "deadline"
                    if call.cut:
                        call.shut()  # again on every round: a connection may have been opened since
                self._lock.wait(WATCH_INTERVAL)


def _tell_call(sock: socket.socket | None) -> None:
    call = getattr(_current, "call", None)
    if call is not None and sock is not None:
        call.sock = sock


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _tell_call(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _tell_call(self.sock)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        _tell_call(connection.sock)  # a kept-alive connection: its socket is already open
        return connection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        _tell_call(connection.sock)
        return connection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, on pools that tell the watched call which socket it uses."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
