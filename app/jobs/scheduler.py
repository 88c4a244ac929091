"""The one APScheduler, owned by the worker process (never by the web workers)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.incident.service import OutageDesk
from app.jobs.inbox import drain_inbox
from app.jobs.lease import WorkerLease
from app.jobs.tasks import run_tasks

INBOX_INTERVAL_SECONDS = 1.0


def run_if_leased(lease: WorkerLease, job: Callable[[OutageDesk], object], desk: OutageDesk) -> None:
    """Run `job` only while this process holds the worker lease (checked, and renewed, first)."""
    if lease.hold():
        job(desk)


def build_scheduler(desk: OutageDesk, blocking: bool = True, interval: float = INBOX_INTERVAL_SECONDS,
                    lease: WorkerLease | None = None) -> BaseScheduler:
    """A scheduler that drains the inbox and runs sidebar tasks every `interval` seconds, each run lease-checked."""
    # A drain that outlasts the interval makes APScheduler skip a run and warn each time;
    # that is the intended back-pressure, not news.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    # Every scheduler checks a lease, so a second worker on the same store waits instead of doing the same work.
    lease = lease or WorkerLease(desk.sessions, desk.clock)
    scheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    for job in (drain_inbox, run_tasks):
        scheduler.add_job(run_if_leased, "interval", args=[lease, job, desk], seconds=interval, id=job.__name__,
                          max_instances=1, coalesce=True)
    # Renewed apart from the jobs too: a resolve that outlasts the lease must not let a standby start it again.
    scheduler.add_job(lease.hold, "interval", seconds=lease.ttl.total_seconds() / 3, id="lease_heartbeat",
                      max_instances=1, coalesce=True)
    return scheduler
