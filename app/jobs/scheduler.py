"""The one APScheduler, owned by the worker process (never by the web workers)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.incident.service import OutageDesk
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks

INBOX_INTERVAL_SECONDS = 1.0


def build_scheduler(desk: OutageDesk, blocking: bool = True, interval: float = INBOX_INTERVAL_SECONDS) -> BaseScheduler:
    """A scheduler that drains the inbox and runs sidebar tasks every `interval` seconds, one run at a time."""
    # A drain that outlasts the interval makes APScheduler skip a run and warn each time;
    # that is the intended back-pressure, not news.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    scheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    for job in (drain_inbox, run_tasks):
        scheduler.add_job(job, "interval", args=[desk], seconds=interval, id=job.__name__,
                          max_instances=1, coalesce=True)
    return scheduler
