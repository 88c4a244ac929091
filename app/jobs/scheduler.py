"""The one APScheduler, owned by the worker process (never by the web workers)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.incident.service import OutageDesk
from app.jobs.inbox import drain_inbox
from app.jobs.lease import WorkerLease
from app.jobs.maintenance import run_maintenance
from app.jobs.redaction import redact_secrets
from app.jobs.runs import JobRuns
from app.jobs.tasks import run_tasks
from app.jobs.voice import watch_voice

INBOX_INTERVAL_SECONDS = 1.0


def build_scheduler(desk: OutageDesk, blocking: bool = True, interval: float = INBOX_INTERVAL_SECONDS,
                    lease: WorkerLease | None = None) -> BaseScheduler:
    """A scheduler that drains the inbox, runs sidebar tasks, scheduled maintenance and secret redaction every
    `interval` seconds, and watches the phone queue at its own pace, each run lease-checked."""
    # A drain that outlasts the interval makes APScheduler skip a run and warn each time;
    # that is the intended back-pressure, not news.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    # Every scheduler checks a lease, so a second worker on the same store waits instead of doing the same work.
    lease = lease or WorkerLease(desk.sessions, desk.clock)
    scheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    for job in (drain_inbox, run_tasks, run_maintenance, redact_secrets):
        scheduler.add_job(JobRuns(job, desk, lease), "interval", seconds=interval, id=job.__name__,
                          name=job.__name__, max_instances=1, coalesce=True)
    # Talk's queue needs no second-by-second reading: its own, slower pace (OUTAGE_DESK_VOICE_POLL_SECONDS).
    scheduler.add_job(JobRuns(watch_voice, desk, lease), "interval", seconds=desk.config.outage_desk_voice_poll_seconds,
                      id=watch_voice.__name__, name=watch_voice.__name__, max_instances=1, coalesce=True)
    # Renewed apart from the jobs too, so a resolve that outlasts the lease keeps it, but only while it
    # makes progress: a stuck one lets it lapse for the standby.
    scheduler.add_job(lease.renew, "interval", seconds=lease.ttl.total_seconds() / 3, id="lease_heartbeat",
                      max_instances=1, coalesce=True)
    return scheduler
