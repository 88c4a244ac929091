"""The `outage-desk worker` process: the scheduler in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from app.clock import StoppableClock, SystemClock
from app.config import Config
from app.jobs.lease import WorkerLease
from app.jobs.progress import Progress
from app.jobs.scheduler import build_scheduler
from app.wiring import build_desk, build_sessions

log = logging.getLogger(__name__)


def run_worker(config: Config, lease_ttl: timedelta) -> None:
    """Run the jobs while holding the worker lease; on stop, cut the running job short, then release it.

    A stop sets one event that every wait (retry back-off, job polls) and every Zendesk call in
    flight observes, so the running job unwinds within a second or so, mid-resolve or mid-call;
    the store's ledgers say what is left, and the next worker carries on from there.
    """
    stop = threading.Event()
    clock = StoppableClock(SystemClock(), stop)
    progress = Progress(clock)
    sessions = build_sessions(config)
    lease = WorkerLease(sessions, clock, lease_ttl, progress=progress)
    desk = build_desk(config, clock, sessions, stop=stop, on_answer=progress.tick, before_write=lease.fence)
    scheduler = build_scheduler(desk, lease=lease)
    # systemd and `docker stop` send SIGTERM: stop as on Ctrl-C. The handler only raises; the event
    # is set outside it (setting an Event inside a signal handler can deadlock with its waiters).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        log.info("jobs.stopping", extra={"owner": lease.owner})
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)
    finally:
        lease.release()
        sessions.kw["bind"].dispose()
