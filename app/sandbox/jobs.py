"""Background jobs (update_many): queued, then run in order by one worker thread."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime

from app.sandbox.state import Job, SandboxState

MAX_INFLIGHT_JOBS = 30
log = logging.getLogger(__name__)


class TooManyJobs(Exception):
    """The account already has MAX_INFLIGHT_JOBS queued or running jobs."""

    def __init__(self, job_ids: list[str]):
        super().__init__(f"{len(job_ids)} jobs queued or running")
        self.job_ids = job_ids


class JobRunner:
    """Runs each job `delay + per_ticket * n` seconds after it starts, one at a time, in order.

    `apply_item(job, item)` performs one ticket's update and returns its result entry.
    """

    def __init__(
        self,
        state: SandboxState,
        apply_item: Callable[[Job, dict], dict],
        *,
        delay: float,
        per_ticket: float,
        now: Callable[[], datetime],
    ):
        self._state = state
        self._apply_item = apply_item
        self._delay = delay
        self._per_ticket = per_ticket
        self._now = now
        self._queue: deque[Job] = deque()
        self._wake = threading.Condition()
        self._busy = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def inflight(self) -> list[str]:
        """Ids of jobs that are queued or working."""
        with self._state.lock:
            return [job.id for job in self._state.jobs.values() if job.status in ("queued", "working")]

    def submit(self, items: list[dict], *, url_base: str, job_type: str = "Bulk Update") -> Job:
        """Queue a job over `items`.

        :raises TooManyJobs: 30 jobs are already queued or running.
        """
        with self._state.lock:
            inflight = self.inflight()
            if len(inflight) >= MAX_INFLIGHT_JOBS:
                raise TooManyJobs(inflight)
            job_id = uuid.uuid4().hex
            job = Job(
                id=job_id,
                url=f"{url_base}/api/v2/job_statuses/{job_id}.json",
                job_type=job_type,
                total=len(items),
                queued_at=self._now(),
                items=items,
            )
            self._state.jobs[job_id] = job
        with self._wake:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-jobs", daemon=True)
                self._thread.start()
            self._wake.notify_all()
        return job

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted job has completed; False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self) -> None:
        """Stop the worker; queued jobs stay queued."""
        self._stopped.set()
        with self._wake:
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._stopped.is_set())
                if self._stopped.is_set():
                    return
                job = self._queue.popleft()
                self._busy = True
            try:
                self._process(job)
            except Exception as error:  # a sandbox bug must fail the job, not kill the worker
                log.exception("sandbox job %s failed", job.id)
                with self._state.lock:
                    job.status, job.message = "failed", f"{type(error).__name__}: {error}"
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _process(self, job: Job) -> None:
        with self._state.lock:
            job.status = "working"
        if self._stopped.wait(self._delay):
            return
        results = []
        for item in job.items:
            if self._per_ticket and self._stopped.wait(self._per_ticket):
                return
            results.append(self._apply_item(job, item))
            with self._state.lock:
                job.progress += 1
        with self._state.lock:
            job.results = results
            job.status = "completed"
            job.message = f"Completed at {self._now():%Y-%m-%d %H:%M:%S} +0000"
