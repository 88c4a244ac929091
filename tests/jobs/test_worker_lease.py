"""Two workers on one store: only the lease holder runs jobs; the other takes over once it dies."""

import logging
import threading
from datetime import timedelta

import pytest

from app.config import Config
from app.errors import LeaseLost
from app.incident.intake import IntakeReport
from app.jobs.lease import WorkerLease
from app.jobs.scheduler import build_scheduler
from tests.helpers import wait_until

TTL = timedelta(seconds=30)


class RecordingDesk:
    """Stands in for one worker's desk: counts its job runs, and can hold them until told to finish.

    While held, a job ticks `progress` each time `answered()` is called, as the gateway does for
    every answer Zendesk gives it.
    """

    config = Config()  # the scheduler reads the voice watch's pace from it (its first poll is 30 s away)

    def __init__(self):
        self.runs = 0
        self.finish = threading.Event()
        self.finish.set()
        self.progress = None
        self._answers = 0

    def answered(self) -> None:
        self._answers += 1

    def _work(self) -> None:
        seen = self._answers
        while not self.finish.wait(0.005):
            if self._answers > seen:
                seen = self._answers
                self.progress.tick()
        self.runs += 1

    def take_in_pending(self) -> IntakeReport:
        self._work()
        return IntakeReport()

    def run_tasks(self) -> int:
        self._work()
        return 0

    @property
    def maintenance(self) -> "RecordingDesk":
        return self

    def run_due(self) -> int:
        self._work()
        return 0


class CountingLease(WorkerLease):
    """A worker lease that counts how often it was checked."""

    checks = 0

    def hold(self) -> bool:
        held = super().hold()
        self.checks += 1
        return held


def waiting_logs(caplog, owner: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "jobs.lease-waiting" and r.owner == owner]


def test_the_holder_renews_the_other_waits_logging_once_and_takes_over_after_expiry(sessions, clock, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs.lease")
    first, second = WorkerLease(sessions, clock, TTL, owner="first"), WorkerLease(sessions, clock, TTL, owner="second")

    assert first.hold()
    assert [second.hold() for _ in range(5)] == [False] * 5
    [waiting] = waiting_logs(caplog, "second")
    assert (waiting.holder, waiting.until) == ("first", (clock.now() + TTL).isoformat())

    clock.advance(20)
    assert first.hold()  # renewed: good for another TTL from now
    clock.advance(25)
    assert not second.hold()

    clock.advance(TTL.total_seconds())  # the first worker died 55 s ago: no renewal since
    assert second.hold()
    assert not first.hold()  # back from the dead, it must wait its turn
    assert len(waiting_logs(caplog, "first")) == 1

    second.release()  # a clean stop: no need to wait for expiry
    assert first.hold()


def test_of_two_schedulers_on_one_store_only_one_runs_jobs_until_it_dies_then_the_other(sessions, clock, caplog):
    caplog.set_level(logging.INFO, logger="app.jobs.lease")
    desks = [RecordingDesk(), RecordingDesk()]
    leases = [CountingLease(sessions, clock, TTL, owner=name) for name in ("first", "second")]
    schedulers = [build_scheduler(desk, blocking=False, interval=0.02, lease=lease)
                  for desk, lease in zip(desks, leases)]
    schedulers[0].start()
    wait_until(lambda: desks[0].runs >= 4)
    schedulers[1].start()
    try:
        wait_until(lambda: leases[1].checks >= 20)
        assert desks[1].runs == 0 and desks[0].runs > 4
        assert len(waiting_logs(caplog, "second")) == 1

        schedulers[0].shutdown(wait=True)  # killed: it stops renewing, and releases nothing
        runs_of_the_first = desks[0].runs
        checks = leases[1].checks
        wait_until(lambda: leases[1].checks >= checks + 20)
        assert desks[1].runs == 0  # the lease has not lapsed yet

        clock.advance(TTL.total_seconds() + 1)
        wait_until(lambda: desks[1].runs >= 4)
        assert desks[0].runs == runs_of_the_first
        assert len(waiting_logs(caplog, "second")) == 1
        assert any(r.getMessage() == "jobs.lease-taken" and r.owner == "second" for r in caplog.records)
    finally:
        schedulers[1].shutdown(wait=True)


def test_a_long_job_keeps_the_lease_while_it_makes_progress_and_lets_it_lapse_once_stuck(sessions, clock, caplog):
    ttl = timedelta(seconds=0.3)  # the heartbeat then runs every 0.1 s of real time
    desk = RecordingDesk()
    desk.finish.clear()
    lease = CountingLease(sessions, clock, ttl, owner="busy")
    desk.progress = lease.progress
    standby = WorkerLease(sessions, clock, ttl, owner="standby")
    scheduler = build_scheduler(desk, blocking=False, interval=0.02, lease=lease)
    scheduler.start()
    try:
        wait_until(lambda: lease.checks >= 3)  # the three jobs started, and are busy
        for _ in range(6):  # answers keep coming: the lease is renewed
            clock.advance(ttl.total_seconds() / 2)
            desk.answered()
            wait_until(lambda: lease.progress.stalled_for() == 0)  # every job heard back
            checks = lease.checks
            wait_until(lambda: lease.checks > checks)  # only the heartbeat checks now
            assert not standby.hold()

        clock.advance(ttl.total_seconds() + 0.01)  # no answer for longer than the TTL: stuck
        wait_until(lambda: any(r.getMessage() == "jobs.lease-lapsing" for r in caplog.records))
        assert standby.hold()
        assert desk.runs == 0
        # Unstuck at last, the job must not write over the standby's work.
        with pytest.raises(LeaseLost):
            lease.fence("PUT /api/v2/tickets/update_many.json")
    finally:
        desk.finish.set()
        scheduler.shutdown(wait=True)
