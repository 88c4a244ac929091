"""Background jobs (update_many, create_many): queued, then run in order by one worker thread."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from zendesk_sandbox.serial import SerialWorker
from zendesk_sandbox.state import Job, SandboxState

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
        self._worker: SerialWorker[Job] = SerialWorker("sandbox-jobs", self._process, self._fail)

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
        self._worker.submit(job)
        return job

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted job has completed; False on timeout."""
        return self._worker.wait_idle(timeout)

    def stop(self) -> None:
        """Stop the worker; queued jobs stay queued."""
        self._worker.stop()

    def _fail(self, job: Job, error: Exception) -> None:
        # A sandbox bug must fail the job, not kill the worker.
        log.exception("sandbox job %s failed", job.id)
        with self._state.lock:
            job.status, job.message = "failed", f"{type(error).__name__}: {error}"

    def _process(self, job: Job) -> None:
        with self._state.lock:
            job.status = "working"
        if self._worker.pause(self._delay):
            return
        results = []
        for item in job.items:
            if self._per_ticket and self._worker.pause(self._per_ticket):
                return
            results.append(self._apply_item(job, item))
            with self._state.lock:
                job.progress += 1
        with self._state.lock:
            job.results = results
            job.status = "completed"
            job.message = f"Completed at {self._now():%Y-%m-%d %H:%M:%S} +0000"
