"""The `outage-desk worker` process: the scheduler in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
from datetime import timedelta

from app.incident.service import OutageDesk
from app.jobs.lease import WorkerLease
from app.jobs.scheduler import build_scheduler


def run_worker(desk: OutageDesk, lease_ttl: timedelta) -> None:
    """Run the jobs while holding the worker lease; on stop, finish the running job, then release it."""
    lease = WorkerLease(desk.sessions, desk.clock, lease_ttl)
    scheduler = build_scheduler(desk, lease=lease)
    # systemd and `docker stop` send SIGTERM: stop as on Ctrl-C, so the lease is handed on at once.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        if scheduler.running:
            scheduler.shutdown(wait=True)
    finally:
        lease.release()
