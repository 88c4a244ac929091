"""Scheduled maintenance: an admin schedules a window; the worker declares it at its start and resolves it at
its end, once, whatever restarts; customers may hear of it ahead, once each; bad windows are refused in one line."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, update

from app.errors import StateError
from app.incident.interim import update_tag
from app.incident.maintenance import CLAIM_TIMEOUT, WindowSpec
from app.incident.model import IncidentSpec
from app.jobs.maintenance import run_maintenance
from app.jobs.scheduler import build_scheduler
from app.jobs.tasks import run_tasks
from app.store.tables import IncidentRow, MaintenanceRow, StateChangeRow
from app.web import create_app
from app.wiring import build_desk
from tests.helpers import FrozenClock, wait_until
from tests.scenarios.conftest import desk_config
from tests.scenarios.test_cli import outage_desk

TITLE = "Database upgrade"
NOTICE = {"en": "On Saturday at 02:00 the API pauses for 20 minutes of maintenance.",
          "fr": "Samedi à 2 h, l'API s'interrompt 20 minutes pour maintenance."}


@pytest.fixture
def worker(account, tmp_path):
    """The worker's desk, on a clock the test moves: ten minutes behind Zendesk's, so what customers write
    now is already inside a window that starts five minutes from the worker's now."""
    clock = FrozenClock(datetime.now(timezone.utc) - timedelta(minutes=10))
    desk = build_desk(desk_config(account, tmp_path), clock)
    yield desk, clock
    desk.sessions.kw["bind"].dispose()


def window(clock, minutes=20, **overrides) -> WindowSpec:
    return WindowSpec(**{"title": TITLE, "query": "maintenance", "tag": "maintenance", "severity": 3,
                         "cr_value": "Technical Issue::TI/Status Wavy",
                         "starts_at": clock.now() + timedelta(minutes=5), "duration": timedelta(minutes=minutes),
                         **overrides})


def changes(desk, incident_id) -> list[tuple]:
    with desk.sessions() as session:
        return [(c.from_state, c.to_state, c.changed_by) for c in session.scalars(
            select(StateChangeRow).where(StateChangeRow.incident_id == incident_id).order_by(StateChangeRow.id))]


def incidents(desk) -> list[IncidentRow]:
    with desk.sessions() as session:
        return list(session.scalars(select(IncidentRow).order_by(IncidentRow.id)))


def customers_write_about_it(account, count=3) -> list[int]:
    # Different customers: one customer's second ticket would be merged into their first.
    return [account.write_in(f"Cannot log in during the maintenance ({n})", email=f"customer{n}@example.org")
            for n in range(count)]


def closing_emails(account, mark, tickets) -> dict[int, int]:
    counts = {ticket_id: 0 for ticket_id in tickets}
    for email in account.emails_since(mark):
        if email["ticket_id"] in counts:
            counts[email["ticket_id"]] += 1
    return counts


@pytest.mark.index_delay(0)
def test_the_worker_declares_the_window_at_its_start_and_resolves_it_at_its_end_once(account, worker):
    desk, clock = worker
    scheduled = desk.maintenance.schedule(window(clock))
    tickets = customers_write_about_it(account)

    run_maintenance(desk)
    run_tasks(desk)
    assert incidents(desk) == []  # not yet: the start is five minutes away

    clock.advance(5 * 60)
    run_maintenance(desk)
    run_tasks(desk)  # the backfill: problem ticket, tickets tagged, as a declaration from the sidebar
    [incident] = incidents(desk)
    assert (incident.kind, incident.state, incident.title) == ("scheduled", "declared", TITLE)
    assert desk.maintenance.window(scheduled.id).incident_id == incident.id
    assert incident.problem_ticket_id and account.ticket(incident.problem_ticket_id)["type"] == "problem"
    for ticket_id in tickets:
        assert "maintenance" in account.ticket(ticket_id)["tags"]
        assert account.ticket(ticket_id)["problem_id"] == incident.problem_ticket_id

    clock.advance(10 * 60)
    mark = len(account.state.emails)
    run_maintenance(desk)
    run_tasks(desk)
    assert desk.incident(incident.id).state == "declared" and account.emails_since(mark) == []  # mid-window

    clock.advance(10 * 60 + 1)
    run_maintenance(desk)
    assert desk.incident(incident.id).state == "resolving"
    run_tasks(desk)  # the worker's resolve sends the closing replies
    for _ in range(2):  # and nothing runs twice
        run_maintenance(desk)
        run_tasks(desk)
    assert desk.incident(incident.id).state == "resolved"
    assert account.ticket(incident.problem_ticket_id)["status"] == "solved"
    assert closing_emails(account, mark, tickets) == {ticket_id: 1 for ticket_id in tickets}
    assert changes(desk, incident.id) == [(None, "declared", "schedule"), ("declared", "resolving", "schedule"),
                                          ("resolving", "resolved", "worker")]


@pytest.mark.index_delay(0)
def test_a_worker_that_died_around_the_start_leaves_the_window_to_the_next_which_declares_it_once(account, worker,
                                                                                                  tmp_path):
    desk, clock = worker
    scheduled = desk.maintenance.schedule(window(clock))
    tickets = customers_write_about_it(account)
    clock.advance(5 * 60)
    # The first worker claimed the window at its start, then died before opening its incident.
    with desk.sessions() as session:
        session.execute(update(MaintenanceRow).values(claimed_at=clock.now()))
        session.commit()
    run_maintenance(desk)
    assert incidents(desk) == []  # it may still be at work: the claim stands until it lapses

    clock.advance(CLAIM_TIMEOUT.total_seconds() + 1)
    first = start_worker(account, tmp_path, clock)  # the restarted worker takes over, declares and backfills
    wait_until(lambda: [i.backfilled_at is not None for i in incidents(desk)] == [True], timeout=30)
    first.stop()  # killed: its lease is left to lapse

    mark = len(account.state.emails)
    clock.advance(20 * 60)  # past the window's end, and the dead worker's lease
    second = start_worker(account, tmp_path, clock)
    try:
        wait_until(lambda: [i.state for i in incidents(desk)] == ["resolved"], timeout=30)
    finally:
        second.stop()
    [incident] = incidents(desk)
    assert desk.maintenance.window(scheduled.id).incident_id == incident.id
    assert changes(desk, incident.id) == [(None, "declared", "schedule"), ("declared", "resolving", "schedule"),
                                          ("resolving", "resolved", "worker")]
    assert closing_emails(account, mark, tickets) == {ticket_id: 1 for ticket_id in tickets}
    assert {e["ticket_id"] for e in account.emails_since(mark)} == set(tickets)


def test_a_worker_that_died_at_the_end_between_its_two_writes_ends_the_window_once_when_restarted(worker):
    desk, clock = worker
    scheduled = desk.maintenance.schedule(window(clock))
    clock.advance(5 * 60)
    run_maintenance(desk)
    [incident] = incidents(desk)
    clock.advance(20 * 60)
    # The dying worker marked the incident resolving, and did not get to record the window ended.
    desk.mark_resolving(incident.id, by_user="schedule")
    assert desk.maintenance.window(scheduled.id).ended_at is None

    for _ in range(2):
        run_maintenance(desk)
    assert desk.maintenance.window(scheduled.id).ended_at is not None
    assert changes(desk, incident.id) == [(None, "declared", "schedule"), ("declared", "resolving", "schedule")]


class start_worker:
    """`outage-desk worker` on the test's clock: its scheduler, with a desk (and a lease) of its own."""

    def __init__(self, account, tmp_path, clock):
        self.desk = build_desk(desk_config(account, tmp_path), clock)
        self.scheduler = build_scheduler(self.desk, blocking=False, interval=0.02)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.desk.sessions.kw["bind"].dispose()


def test_a_window_cancelled_missed_or_whose_tag_is_taken_is_never_declared_and_says_why(worker):
    desk, clock = worker
    cancelled = desk.maintenance.schedule(window(clock))
    missed = desk.maintenance.schedule(window(clock, starts_at=clock.now() + timedelta(hours=1)))
    taken = desk.maintenance.schedule(window(clock, starts_at=clock.now() + timedelta(hours=2)))
    later = desk.maintenance.schedule(window(clock, starts_at=clock.now() + timedelta(hours=3)))
    desk.maintenance.cancel(cancelled.id)

    clock.advance(5 * 60)
    run_maintenance(desk)
    assert incidents(desk) == []
    clock.advance(2 * 3600 - 5 * 60)  # no worker ran through the second window
    other = desk.open_incident(outage_spec(clock, tag="maintenance"))  # an outage already holds the tag
    run_maintenance(desk)

    assert [i.id for i in incidents(desk)] == [other.id]
    assert desk.maintenance.window(missed.id).detail == "not declared: no worker ran between its start and end"
    assert "already active" in desk.maintenance.window(taken.id).detail
    assert [w.id for w in desk.maintenance.windows(upcoming_only=True)] == [later.id]
    with pytest.raises(StateError, match="already cancelled"):
        desk.maintenance.cancel(cancelled.id)


def outage_spec(clock, **overrides) -> IncidentSpec:
    return IncidentSpec(**{"title": "API down", "query": "API", "started_at": clock.now(), **overrides})


def test_the_sidebar_shows_a_window_until_it_ends(account, worker, tmp_path):
    desk, clock = worker
    sidebar = create_app(desk_config(account, tmp_path)).test_client()  # on Zendesk's time, as its tokens are
    as_user = account.sidebar_sessions(sidebar)
    agent, ticket_id = account.seed.agent_ids[0], account.seed.outage_ticket_ids[0]

    def shown() -> list[tuple]:
        answer = sidebar.get(f"/api/state?ticket_id={ticket_id}", headers=as_user(agent))
        assert answer.status_code == 200, answer.get_json()
        return [(w["title"], w["state"], w["starts_at"], w["ends_at"]) for w in answer.get_json()["maintenance"]]

    assert shown() == []
    scheduled = desk.maintenance.schedule(window(clock, starts_at=clock.now() + timedelta(minutes=15)))
    upcoming = (TITLE, "upcoming", scheduled.starts_at.isoformat(), scheduled.ends_at.isoformat())
    assert shown() == [upcoming]
    clock.advance(15 * 60)
    run_maintenance(desk)
    assert shown() == [(TITLE, "declared", *upcoming[2:])]
    clock.advance(20 * 60)
    run_maintenance(desk)
    assert shown() == []


def test_schedule_list_and_cancel_from_the_command_line(account, tmp_path):
    start = datetime.now(timezone.utc) + timedelta(days=2)
    scheduled = outage_desk(account, tmp_path, "schedule", "--title", TITLE, "--query", "maintenance",
                            "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert scheduled.returncode == 0, scheduled.stderr
    assert f"Scheduled maintenance #1 \"{TITLE}\": {start:%Y-%m-%d %H:%M}–" in scheduled.stdout
    later = outage_desk(account, tmp_path, "schedule", "--title", "Search reindex", "--query", "search",
                        "--start", (start + timedelta(hours=1)).isoformat(), "--duration", "1h", "--force")
    assert later.returncode == 0, later.stderr

    listed = outage_desk(account, tmp_path, "schedule", "--list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if TITLE in line or "Search reindex" in line]
    assert len(rows) == 2 and all("upcoming" in row for row in rows), listed.stdout

    cancelled = outage_desk(account, tmp_path, "schedule", "--cancel", "1")
    assert cancelled.returncode == 0 and "#1" in cancelled.stdout and "cancelled" in cancelled.stdout
    listed = outage_desk(account, tmp_path, "schedule", "--list")
    assert any(TITLE in line and "cancelled" in line for line in listed.stdout.splitlines()), listed.stdout
    again = outage_desk(account, tmp_path, "schedule", "--cancel", "1")
    assert again.returncode == 3 and len(again.stderr.strip().splitlines()) == 1
    too_big = outage_desk(account, tmp_path, "schedule", "--cancel", "9" * 25)  # no store holds such an id
    assert too_big.returncode == 2 and "not in the range" in too_big.stderr and "Traceback" not in too_big.stderr


def test_the_default_start_is_next_saturday_at_two_in_the_accounts_time_zone(account, tmp_path):
    requests.post(f"{account.url}/_sandbox/account/time_zone",
                  json={"time_zone": "Tokyo", "iana_time_zone": "Asia/Tokyo"}, timeout=10).raise_for_status()
    scheduled = outage_desk(account, tmp_path, "schedule", "--title", TITLE, "--query", "maintenance")
    assert scheduled.returncode == 0, scheduled.stderr
    now = datetime.now(timezone.utc)
    [line] = [line for line in scheduled.stdout.splitlines() if "Scheduled maintenance #1" in line]
    start = datetime.strptime(line.split(": ")[1][:16], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    tokyo = start + timedelta(hours=9)  # Tokyo keeps no summer time
    assert (tokyo.weekday(), tokyo.hour, tokyo.minute) == (5, 2, 0)
    assert now < start <= now + timedelta(days=7)
    end = (start + timedelta(minutes=20)).strftime("%H:%M")
    assert f"–{end} UTC (Saturday 02:00 in the account's time zone, Asia/Tokyo)" in line
    assert any(call["endpoint"] == "GET /api/v2/account/settings" for call in account.state.calls)


def test_bad_windows_are_refused_in_one_line_with_exit_2(account, tmp_path):
    start = datetime.now(timezone.utc) + timedelta(days=1)
    first = outage_desk(account, tmp_path, "schedule", "--title", TITLE, "--query", "maintenance",
                        "--start", start.isoformat())
    assert first.returncode == 0, first.stderr
    bad = {
        "in the past": ["--start", (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()],
        "overlaps maintenance #1": ["--start", (start + timedelta(minutes=10)).isoformat()],
        "--force": ["--start", (start + timedelta(hours=3)).isoformat(), "--duration", "45m"],
        "ISO 8601": ["--start", "next saturday"],
        "--duration": ["--start", (start + timedelta(hours=3)).isoformat(), "--duration", "twenty"],
        # Past the last datetime Python has, once in UTC or once the duration is added: no traceback.
        "must be an ISO 8601 time": ["--start", "9999-12-31T23:59:00-01:00"],
        "after the year 9999": ["--start", "9999-12-31T23:50:00Z"],
    }
    for reason, args in bad.items():
        refused = outage_desk(account, tmp_path, "schedule", "--title", "Another", "--query", "maintenance", *args)
        assert refused.returncode == 2, (reason, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1 and reason in refused.stderr, (reason, refused.stderr)
    listed = outage_desk(account, tmp_path, "schedule", "--list")
    assert "Another" not in listed.stdout  # nothing refused was stored


@pytest.mark.index_delay(0)
def test_the_advance_notice_reaches_each_open_ticket_of_the_query_once_and_no_other(account, tmp_path):
    about = customers_write_about_it(account, count=4)
    solved = about[0]
    account.agent_update(solved, status="solved", assignee_id=account.seed.agent_ids[0])
    unrelated = account.write_in("My invoice is wrong")
    notice = tmp_path / "notice.json"
    notice.write_text(json.dumps(NOTICE), encoding="utf-8")
    mark = len(account.state.emails)
    start = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()

    scheduled = outage_desk(account, tmp_path, "schedule", "--title", TITLE, "--query", "maintenance",
                            "--start", start, "--notice", str(notice))
    assert scheduled.returncode == 0, scheduled.stderr
    assert "Advance notice: 3 replies sent" in scheduled.stdout, scheduled.stdout

    got = {}
    for email in account.emails_since(mark):
        got.setdefault(email["ticket_id"], []).append(email["body"])
    assert got == {ticket_id: [NOTICE["en"]] for ticket_id in about[1:]}
    assert unrelated not in got and solved not in got
    for ticket_id in about[1:]:
        assert update_tag(1) in account.ticket(ticket_id)["tags"]
    listed = outage_desk(account, tmp_path, "schedule", "--list")
    assert "3 sent, 0 to go" in listed.stdout, listed.stdout
