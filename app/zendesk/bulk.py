"""update_many jobs as a pipeline: full batches of 100, up to 25 jobs in flight, few polls.

A bulk write costs one call per 100 tickets plus the job-status polls, so the polls are
what there is to save: all jobs in flight are read in one `show_many`, and the next poll is
timed by how fast Zendesk has been finishing jobs, so each poll finds several done.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.clock import Clock
from app.errors import ZendeskError
from app.zendesk.model import BulkOutcome

BATCH_SIZE = 100  # update_many takes at most 100 tickets
MAX_INFLIGHT_JOBS = 25  # Zendesk allows 30 queued or running jobs per account; leave room
POLL_INTERVAL_MIN, POLL_INTERVAL_MAX = 0.2, 30.0  # seconds between job-status polls
# Poll when about this share of the jobs in flight should be done: sooner wastes calls,
# later leaves Zendesk's queue idle.
POLL_WHEN_DONE = 0.6
RATE_SMOOTHING = 0.5  # weight of the newest throughput reading
MAX_BACKOFF_DOUBLINGS = 8
JOB_STATUS_LIFETIME = 24 * 3600  # seconds Zendesk keeps a job's status
MAX_ITEM_ATTEMPTS = 3  # a ticket that failed inside a job is sent again at most twice
# Item errors no retry can fix: the ticket itself refuses the change.
PERMANENT_ITEM_ERRORS = frozenset({"RecordInvalid", "ClosedTicket", "RecordNotFound", "PermissionDenied",
                                   "Forbidden", "InvalidValue"})

Submit = Callable[[Sequence[dict[str, Any]]], str]  # a batch -> its job id
Poll = Callable[[list[str]], list[dict[str, Any]]]  # job ids -> their job_status objects
Then = Callable[[BulkOutcome], None]


class JobPace:
    """How fast the account finishes jobs (jobs per second), learnt from polls and kept
    across writers, so a later write's first poll is already well timed."""

    def __init__(self) -> None:
        self.rate: float | None = None
        self._idle_polls = 0

    def wait(self, inflight: int, last: bool) -> float:
        """Seconds to wait before the next poll of `inflight` jobs; `last`: nothing will follow
        them, so wait for all of them rather than for room to send more."""
        backoff = 2 ** min(self._idle_polls, MAX_BACKOFF_DOUBLINGS)
        if self.rate is None:
            guess = POLL_INTERVAL_MIN * backoff
        else:
            expected = inflight if last else max(1, math.ceil(inflight * POLL_WHEN_DONE))
            guess = expected / self.rate * backoff
        return min(max(guess, POLL_INTERVAL_MIN), POLL_INTERVAL_MAX)

    def observe(self, finished: int, elapsed: float) -> None:
        if not finished:
            self._idle_polls += 1  # slower than we thought: back off
            return
        self._idle_polls = 0
        reading = finished / max(elapsed, POLL_INTERVAL_MIN)
        self.rate = reading if self.rate is None else (1 - RATE_SMOOTHING) * self.rate + RATE_SMOOTHING * reading


@dataclass(eq=False)
class _Group:
    """One `add`: its outcome, and what to do once every one of its tickets is settled."""

    unsettled: int
    then: Then | None
    then_adds: bool
    outcome: BulkOutcome = field(default_factory=BulkOutcome)


@dataclass(eq=False)
class _Entry:
    item: dict[str, Any]
    group: _Group
    attempts: int = 1


@dataclass(eq=False)
class _Job:
    entries: list[_Entry]
    submitted_at: float

    @property
    def may_add(self) -> bool:
        """Whether its completion can call back with more to write."""
        return any(entry.group.then is not None and entry.group.then_adds for entry in self.entries)


class BulkWriter:
    """Streams ticket changes into update_many jobs; `finish` waits for all of them.

    Outcomes go to each group's `then` and are not kept here: a backfill of 100,000 tickets
    holds no more than its jobs in flight.

    `add(items, then)` returns as soon as the items are queued or submitted (it only waits when
    25 jobs are already in flight); `then` gets that group's outcome once all of its tickets are
    settled, and may `add` more — which is how a second pass on the same tickets waits for the
    first one without holding up anything else. Every result is checked: a completed job may
    still have failed for some tickets, and exactly those are sent again unless no retry can help.
    """

    def __init__(self, submit: Submit, poll: Poll, clock: Clock, pace: JobPace,
                 on_progress: Callable[[int], None] | None = None):
        self._submit = submit
        self._poll = poll
        self._clock = clock
        self._pace = pace
        self._on_progress = on_progress
        self._pending: deque[_Entry] = deque()
        self._inflight: dict[str, _Job] = {}
        self._last_poll = clock.monotonic()
        self._calling_back = False
        self.jobs = 0

    def add(self, items: Sequence[dict[str, Any]], then: Then | None = None, then_adds: bool = True) -> BulkOutcome:
        """Queue changes; returns their outcome, complete once `finish` returns or `then` is called.

        `then_adds=False` promises that `then` adds nothing, so a short last batch need not wait for it.
        """
        group = _Group(unsettled=len(items), then=then, then_adds=then_adds)
        if not items:
            if then:
                then(group.outcome)
            return group.outcome
        self._pending.extend(_Entry(item, group) for item in items)
        if self._calling_back:
            return group.outcome  # the poll that called back sends these: polls never nest
        while len(self._pending) >= BATCH_SIZE:
            if len(self._inflight) >= MAX_INFLIGHT_JOBS:
                self._wait_and_poll()
            else:
                self._submit_batch()
        return group.outcome

    def finish(self) -> None:
        """Send what is left, wait for every job (and whatever their callbacks add)."""
        while self._pending or self._inflight:
            while self._pending and len(self._inflight) < MAX_INFLIGHT_JOBS and (
                    len(self._pending) >= BATCH_SIZE or not any(job.may_add for job in self._inflight.values())):
                # A short batch goes only when no job in flight can still add to it.
                self._submit_batch()
            if self._inflight:
                self._wait_and_poll(last=not self._pending and not any(job.may_add for job in self._inflight.values()))

    def _submit_batch(self) -> None:
        entries = [self._pending.popleft() for _ in range(min(BATCH_SIZE, len(self._pending)))]
        if not self._inflight:
            self._last_poll = self._clock.monotonic()  # the pace counts time with jobs to do only
        job_id = self._submit([entry.item for entry in entries])
        self._inflight[job_id] = _Job(entries, submitted_at=self._clock.monotonic())
        self.jobs += 1

    def _wait_and_poll(self, last: bool = False) -> None:
        self._clock.sleep(self._pace.wait(len(self._inflight), last))
        try:
            statuses = {s["id"]: s for s in self._poll(list(self._inflight))}
        except ZendeskError as error:
            # The poll names jobs; a log line should name the tickets waiting on them.
            error.tickets = error.tickets or tuple(int(entry.item["id"]) for job in self._inflight.values()
                                                   for entry in job.entries)
            raise
        now = self._clock.monotonic()
        # Zendesk keeps a job's status for a day: a job it no longer lists after that is over, with no
        # results. Sooner, an unlisted job may still run (and land), so it is not sent again.
        finished = [statuses.get(job_id, {"id": job_id, "status": "gone", "results": []})
                    for job_id, job in self._inflight.items()
                    if job_id in statuses or now - job.submitted_at > JOB_STATUS_LIFETIME]
        finished = [s for s in finished if s["status"] in ("completed", "failed", "killed", "gone")]
        self._pace.observe(len(finished), now - self._last_poll)
        self._last_poll = now
        settled: dict[_Group, None] = {}
        for status in finished:
            settled.update(self._settle(self._inflight.pop(status["id"]), status))
        # Every settled group hears back even if one callback fails; the first failure is raised after.
        failure: Exception | None = None
        self._calling_back = True
        try:
            for group in settled:
                if group.then:
                    then, group.then = group.then, None
                    try:
                        then(group.outcome)
                    except Exception as error:  # noqa: BLE001 - re-raised below, once all have run
                        failure = failure or error
        finally:
            self._calling_back = False
        if failure:
            raise failure

    def _settle(self, job: _Job, status: dict[str, Any]) -> dict[_Group, None]:
        """Record a finished job's results; returns the groups it left with nothing unsettled."""
        results = {int(r["id"]): r for r in status.get("results") or () if r.get("id") is not None}
        touched: dict[_Group, None] = {}
        again: list[_Entry] = []
        for entry in job.entries:
            ticket_id = int(entry.item["id"])
            result = results.get(ticket_id)
            if result is not None and result.get("success", "error" not in result):
                self._record(entry.group, ticket_id, None)
            else:
                reason = (f"NoResult: none in job {status['id']} ({status['status']})" if result is None
                          else f"{result.get('error', 'Failed')}: {result.get('details', '')}".strip())
                if entry.attempts < MAX_ITEM_ATTEMPTS and _retryable(entry.item, reason):
                    entry.attempts += 1
                    again.append(entry)
                else:
                    self._record(entry.group, ticket_id, reason)
            touched[entry.group] = None
        self._pending.extendleft(reversed(again))  # first in the queue, in their order
        if self._on_progress:
            self._on_progress(len(job.entries))
        return {group: None for group in touched if not group.unsettled}

    def _record(self, group: _Group, ticket_id: int, reason: str | None) -> None:
        group.unsettled -= 1
        if reason is None:
            group.outcome.succeeded.add(ticket_id)
        else:
            group.outcome.failed[ticket_id] = reason


def _retryable(item: dict[str, Any], reason: str) -> bool:
    """Whether sending the same change again can succeed."""
    code = reason.split(":", 1)[0]
    if code == "UpdateConflict":
        # Without our own stamp, Zendesk used the queue time: re-apply on the fresh ticket.
        # With one, the caller must re-read first (that is the point of the stamp).
        return "updated_stamp" not in item
    return code not in PERMANENT_ITEM_ERRORS
