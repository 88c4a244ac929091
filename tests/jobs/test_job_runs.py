"""A job's runs: one log line per failure, a backoff that doubles to a minute and resets, a bug's traceback once."""

import logging

from app.errors import ZendeskUnreachable
from app.jobs.lease import WorkerLease
from app.jobs.runs import JobRuns


class FailingDesk:
    """A desk whose inbox fails with the next of `outcomes` (an exception, or None for success)."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.runs = 0

    def take_in_pending(self):
        self.runs += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


def drain_inbox(desk):
    desk.take_in_pending()


def failures(caplog):
    return [r for r in caplog.records if r.getMessage() == "jobs.failed"]


def test_failures_back_off_doubling_to_a_minute_and_a_success_resets_it(sessions, clock, caplog):
    down = ZendeskUnreachable("cannot reach Zendesk for GET /api/v2/tickets/show_many.json: ConnectionError",
                              endpoint="GET /api/v2/tickets/show_many.json")
    desk = FailingDesk(*[down] * 8, None, down)
    runs = JobRuns(drain_inbox, desk, WorkerLease(sessions, clock, owner="w"))
    calls = 0
    while desk.outcomes:  # the scheduler calls every second
        runs()
        calls += 1
        clock.advance(1)

    waits = [r.retry_in for r in failures(caplog)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 1]
    assert desk.runs == 10 and calls > 180
    line = failures(caplog)[0]
    assert (line.job, line.error, line.endpoint, line.status, bool(line.exc_info)) == (
        "drain_inbox", "ZendeskUnreachable", "GET /api/v2/tickets/show_many.json", None, False)


def test_a_bug_logs_its_traceback_once_then_one_line_per_repeat(sessions, clock, caplog):
    caplog.set_level(logging.WARNING)
    desk = FailingDesk(KeyError("id"), KeyError("id"), KeyError("id"))
    runs = JobRuns(drain_inbox, desk, WorkerLease(sessions, clock, owner="w"))
    for _ in range(10):
        runs()
        clock.advance(1)

    assert [bool(r.exc_info) for r in failures(caplog)] == [True, False, False]
    assert {r.error for r in failures(caplog)} == {"KeyError"}
