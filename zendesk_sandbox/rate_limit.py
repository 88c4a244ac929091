"""Zendesk's request limits as sliding windows over the sandbox clock."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Verdict:
    """One window's answer for a request: allowed or not, and what the headers should say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class SlidingWindow:
    """At most `limit` requests in any `period` seconds. Not locked: RateLimiter locks."""

    def __init__(self, limit: int, period: float):
        self.limit = limit
        self.period = period
        self._stamps: deque[float] = deque()

    def check(self, now: float) -> Verdict:
        """Whether one more request fits now; does not record it."""
        while self._stamps and self._stamps[0] <= now - self.period:
            self._stamps.popleft()
        used = len(self._stamps)
        # Seconds until the oldest request leaves the window and frees a slot.
        frees_in = math.ceil(self._stamps[0] + self.period - now) if self._stamps else math.ceil(self.period)
        allowed = used < self.limit
        return Verdict(
            allowed=allowed,
            limit=self.limit,
            remaining=max(self.limit - used - (1 if allowed else 0), 0),
            reset=max(frees_in, 1),
            retry_after=0 if allowed else max(frees_in, 1),
        )

    def record(self, now: float) -> None:
        """Count one request made at `now`."""
        self._stamps.append(now)


class RateLimiter:
    """The account-wide window plus named per-endpoint windows, checked and recorded together."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float]):
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.account = SlidingWindow(per_minute, 60)
        self._windows: dict[tuple, SlidingWindow] = {}

    def admit(self, extra: list[tuple[tuple, int, float]]) -> tuple[Verdict, Verdict | None]:
        """Check the account window, then each (key, limit, period) window; record only if all allow.

        Returns the account verdict and the first refusing endpoint verdict, if any.
        A refused request takes no slot, so Retry-After stays exact.
        """
        with self._lock:
            now = self._monotonic()
            account = self.account.check(now)
            if not account.allowed:
                return account, None
            windows = [self._windows.setdefault(key, SlidingWindow(limit, period)) for key, limit, period in extra]
            for window in windows:
                verdict = window.check(now)
                if not verdict.allowed:
                    return replace(account, remaining=account.remaining + 1), verdict
            for window in (self.account, *windows):
                window.record(now)
            return account, None
