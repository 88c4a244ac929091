"""The worker against a Zendesk that answers nonsense, drips or says nothing: it logs, backs off, gives way, stops."""

import re
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.config import DEFAULT_CR_VALUE
from app.incident.model import Kind, State
from app.jobs.lease import WORKER_LEASE
from app.store.leases import RELEASED, lease_holder
from app.store.tables import AffectedTicketRow, IncidentRow, InboxRow
from app.wiring import build_desk
from tests.faulty_zendesk import HTML, SILENT, FaultyZendesk
from tests.faulty_zendesk import body as answer
from tests.helpers import wait_until
from tests.jobs.test_processes import start, webhook
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, desk_config, outage, start_account

SHOW_MANY = "/api/v2/tickets/show_many.json"


@pytest.fixture
def faulty():
    zendesk = FaultyZendesk()
    yield zendesk
    zendesk.close()


def declared_incident_and_events(sessions, *ticket_ids: int) -> None:
    """An incident whose backfill is done, and webhook events for these tickets: the worker reads them in Zendesk."""
    now = datetime.now(timezone.utc)
    with sessions() as session:
        session.add(IncidentRow(title="API down", kind=Kind.UNPLANNED, severity=2, tag="api_down",
                                cr_value=DEFAULT_CR_VALUE, query="API", state=State.DECLARED,
                                started_at=now - timedelta(hours=1), declared_at=now, backfilled_at=now,
                                problem_ticket_id=1))
        session.add_all(webhook(ticket_id) for ticket_id in ticket_ids)
        session.commit()


def pending(sessions) -> list[int]:
    with sessions() as session:
        return sorted(session.scalars(select(InboxRow.ticket_id).where(InboxRow.processed_at.is_(None))))


def test_bad_answers_make_one_log_line_per_failure_with_its_call_and_a_growing_backoff(database_url, sessions,
                                                                                         tmp_path, faulty, processes):
    declared_incident_and_events(sessions, 11, 12)
    faulty.fail(SHOW_MANY, HTML)
    worker = start(database_url, tmp_path, "worker", "worker", env={"ZENDESK_URL": faulty.url})
    processes.append(worker)
    # Each failure is three tries (two retries back off 0.5-1 s, then 1-2 s), then the job waits 1 s, 2 s, 4 s...
    wait_until(lambda: faulty.count(SHOW_MANY) >= 6, timeout=30)
    time.sleep(1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0

    log = (tmp_path / "worker.log").read_text()
    failures = [line for line in log.splitlines() if " jobs.failed " in line]
    assert 2 <= len(failures) <= 3, log
    assert faulty.count(SHOW_MANY) in range(3 * len(failures), 3 * len(failures) + 3)
    for line in failures:
        assert (' WARNING jobs.failed job=drain_inbox error=ZendeskBadAnswer '
                'endpoint="GET /api/v2/tickets/show_many.json" status=200 tickets=11,12 ') in line
        assert f'is not JSON ({len(HTML.body)} bytes of text/html)"' in line
    assert [float(re.search(r"retry_in=(\S+)", line)[1]) for line in failures] == [1, 2, 4][:len(failures)]
    assert "Traceback" not in log
    assert pending(sessions) == [11, 12]


def test_sigterm_stops_a_worker_stuck_in_a_call_within_seconds_and_hands_the_lease_on(database_url, sessions,
                                                                                      tmp_path, faulty, processes):
    declared_incident_and_events(sessions, 21)
    faulty.fail(SHOW_MANY, SILENT)
    worker = start(database_url, tmp_path, "worker", "worker",
                   env={"ZENDESK_URL": faulty.url, "ZENDESK_TIMEOUT_SECONDS": "300"})
    processes.append(worker)
    wait_until(lambda: faulty.count(SHOW_MANY) == 1, timeout=30)

    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert lease_holder(sessions, WORKER_LEASE).expires_at == RELEASED
    assert pending(sessions) == [21]  # left for the next worker, which takes it from the inbox
    assert "jobs.stopped job=drain_inbox" in (tmp_path / "worker.log").read_text()


def test_a_stuck_worker_lets_its_lease_lapse_and_the_standby_takes_the_pending_events_in(database_url, sessions,
                                                                                        tmp_path, processes):
    account = start_account(tickets=20)
    proxy = FaultyZendesk(upstream=account.url)
    try:
        desk = build_desk(desk_config(account, tmp_path))
        desk.declare(outage(account))
        desk.sessions.kw["bind"].dispose()
        new = [account.write_in("The API answers 503 again"), account.write_in("API down for us too")]
        with sessions() as session:
            session.add_all(webhook(ticket_id) for ticket_id in new)
            session.commit()
        # Zendesk's first answer to the first worker never comes; every later call is answered.
        proxy.fail(SHOW_MANY, SILENT, times=1)
        env = {"ZENDESK_URL": proxy.url, "ZENDESK_EMAIL": API_EMAIL, "ZENDESK_API_TOKEN": API_TOKEN,
               "OUTAGE_DESK_REFERENT": str(account.seed.referent_id), "ZENDESK_TIMEOUT_SECONDS": "300"}
        stuck = start(database_url, tmp_path, "stuck", "worker", "--lease-seconds", "3", env=env)
        processes.append(stuck)
        # At least: the worker's other passes (the merge of duplicates) read tickets beside the stuck one.
        wait_until(lambda: proxy.count(SHOW_MANY) >= 1, timeout=30)
        standby = start(database_url, tmp_path, "standby", "worker", "--lease-seconds", "3", env=env)
        processes.append(standby)

        # Stuck for over 3 s, it stops renewing; 3 s later the lease has lapsed and the standby has it.
        wait_until(lambda: pending(sessions) == [], timeout=30)
        with sessions() as session:
            assert set(session.scalars(select(AffectedTicketRow.ticket_id)
                                       .where(AffectedTicketRow.ticket_id.in_(new)))) == set(new)
        assert "jobs.lease-lapsing" in (tmp_path / "stuck.log").read_text()
        assert lease_holder(sessions, WORKER_LEASE).owner.split(":")[1] == str(standby.pid)

        stuck.send_signal(signal.SIGTERM)
        assert stuck.wait(timeout=5) == 0
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=10) == 0
    finally:
        proxy.close()
        account.server.shutdown()


def test_sigterm_mid_resolve_stops_within_seconds_and_the_next_worker_finishes_it(database_url, sessions, tmp_path,
                                                                                   processes):
    account = start_account(tickets=30)
    proxy = FaultyZendesk(upstream=account.url)
    try:
        desk = build_desk(desk_config(account, tmp_path))
        incident = desk.declare(outage(account))
        desk.mark_resolving(incident.incident_id, by_user=account.seed.referent_id)
        desk.sessions.kw["bind"].dispose()
        mark = len(account.state.emails)
        # Zendesk takes the closing replies' jobs but never says they are done: resolve keeps polling.
        proxy.fail("/api/v2/job_statuses/show_many.json", answer('{"job_statuses": []}'))
        env = {"ZENDESK_URL": proxy.url, "ZENDESK_EMAIL": API_EMAIL, "ZENDESK_API_TOKEN": API_TOKEN,
               "OUTAGE_DESK_REFERENT": str(account.seed.referent_id)}
        worker = start(database_url, tmp_path, "resolving", "worker", env=env)
        processes.append(worker)
        wait_until(lambda: proxy.count("/api/v2/job_statuses/show_many.json") >= 2, timeout=30)

        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert lease_holder(sessions, WORKER_LEASE).expires_at == RELEASED
        assert "jobs.stopped job=run_tasks" in (tmp_path / "resolving.log").read_text()
        assert _state(sessions) == "resolving"  # its replies are still to be settled: the store says so

        proxy.heal("/api/v2/job_statuses/show_many.json")  # Zendesk is itself again
        successor = start(database_url, tmp_path, "successor", "worker", env=env)
        processes.append(successor)
        wait_until(lambda: _state(sessions) == "resolved", timeout=60)
        successor.send_signal(signal.SIGTERM)
        assert successor.wait(timeout=10) == 0
        closing = [email["ticket_id"] for email in account.emails_since(mark)]
        assert closing and len(closing) == len(set(closing))  # each customer once, across the two workers
    finally:
        proxy.close()
        account.server.shutdown()


def _state(sessions) -> str:
    with sessions() as session:
        return session.scalar(select(IncidentRow.state))
