"""One periodic job's runs: only under the lease, one log line per failure, backing off after each."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.errors import OutageDeskError, Stopped
from app.incident.service import OutageDesk
from app.jobs.lease import WorkerLease

log = logging.getLogger(__name__)

# After a failure the job waits 1 s, then 2, 4 … up to a minute, and runs at its pace again after a success:
# a Zendesk that is down or answers nonsense is asked again soon, but not forty times a second.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


class JobRuns:
    """Runs `job(desk)` each time the scheduler calls, unless backing off or the lease is someone else's."""

    def __init__(self, job: Callable[[OutageDesk], object], desk: OutageDesk, lease: WorkerLease):
        self.name = job.__name__
        self._job = job
        self._desk = desk
        self._lease = lease
        self._failures = 0
        self._not_before = 0.0
        self._last_bug: str | None = None

    def __call__(self) -> None:
        clock = self._lease.clock
        if clock.monotonic() < self._not_before or not self._lease.renew():
            return
        with self._lease.progress.running():
            try:
                self._job(self._desk)
            except Stopped:
                log.info("jobs.stopped", extra={"job": self.name})
            except OutageDeskError as error:
                self._failed(error, error.log_fields())
            except Exception as error:  # noqa: BLE001 - a bug: logged with its traceback once, then backed off
                self._failed(error, {"error": type(error).__name__})
            else:
                self._failures, self._last_bug = 0, None

    def _failed(self, error: Exception, fields: dict[str, object]) -> None:
        self._failures += 1
        wait = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
        self._not_before = self._lease.clock.monotonic() + wait
        bug = None if isinstance(error, OutageDeskError) else f"{type(error).__name__}: {error}"
        extra = {"job": self.name, **fields, "reason": str(error), "failures": self._failures, "retry_in": wait}
        # Our own errors are expected news: one line. A bug is an error, with its traceback the first
        # time it happens in a row.
        log.log(logging.ERROR if bug else logging.WARNING, "jobs.failed", extra=extra,
                exc_info=bug is not None and bug != self._last_bug)
        self._last_bug = bug
