"""The worker lease: only the process holding it runs jobs; a second worker waits, then takes over."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.errors import LeaseLost
from app.jobs.progress import Progress
from app.store.leases import lease_holder, release_lease, take_lease

log = logging.getLogger(__name__)

WORKER_LEASE = "worker"
# How long a worker that stopped renewing (killed, frozen, cut off) blocks its standby.
# Holders' clocks must agree to well within this.
LEASE_TTL = timedelta(seconds=30)


class WorkerLease:
    """This process's claim on the worker lease, taken or renewed by every :meth:`hold`.

    The heartbeat and the job runs go through :meth:`renew`, which holds it only while the jobs
    make `progress`: a worker stuck in a call (a Zendesk that drips its answer, a hung connection)
    lets it lapse, and the standby takes over. :meth:`fence` guards each Zendesk write.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, ttl: timedelta = LEASE_TTL,
                 owner: str | None = None, progress: Progress | None = None):
        self.sessions = sessions
        self.clock = clock
        self.ttl = ttl
        self.progress = progress or Progress(clock)
        self._lapsing = False
        # Host and pid tell an operator which process it is; the token tells two leases of one process apart.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._held: bool | None = None
        # The scheduler's job threads and its heartbeat all call hold().
        self._lock = threading.Lock()

    def hold(self) -> bool:
        """Take or renew the lease; True while this process may run jobs. Logs each change once."""
        with self._lock:
            held = take_lease(self.sessions, WORKER_LEASE, self.owner, self.clock.now(), self.ttl)
            if held != self._held:
                if held:
                    log.info("jobs.lease-taken", extra={"owner": self.owner})
                else:
                    holder = lease_holder(self.sessions, WORKER_LEASE)
                    log.warning("jobs.lease-waiting", extra={"owner": self.owner, "holder": holder.owner,
                                                             "until": holder.expires_at.isoformat()})
                self._held = held
            return held

    def renew(self) -> bool:
        """Take or renew the lease while the jobs make progress; True while this process may run jobs.

        A job stuck longer than the TTL (no answer from Zendesk, no end) stops renewal, saying so
        once: the lease lapses and a standby takes over.
        """
        stalled = self.progress.stalled_for()
        if stalled > self.ttl.total_seconds():
            if not self._lapsing:
                self._lapsing = True
                log.warning("jobs.lease-lapsing", extra={"owner": self.owner, "stalled_seconds": round(stalled)})
            return False
        self._lapsing = False
        return self.hold()

    def fence(self, what: str) -> None:
        """Before a Zendesk write: renew the lease, or stop if another worker holds it now.

        :raises LeaseLost: a standby took over while this worker was stuck; it must not write.
        """
        if not self.hold():
            raise LeaseLost(f"this worker lost the worker lease to another: {what} not sent")

    def release(self) -> None:
        """Hand the lease on at once (a clean stop), so a standby need not wait for it to lapse."""
        with self._lock:
            release_lease(self.sessions, WORKER_LEASE, self.owner)
            self._held = False
