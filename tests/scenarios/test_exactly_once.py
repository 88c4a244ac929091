"""Exactly once, both halves: nobody forgotten whatever dies or fails, nothing written twice."""

from datetime import datetime, timedelta, timezone

import requests
from sqlalchemy import update

from app.incident.resolve import CALLBACK_NOTE
from app.incident.take_in import ORPHAN_AFTER
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.store.tables import AffectedTicketRow, InboxRow
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import FrozenClock, WebhookSender
from tests.scenarios.conftest import desk_config, outage
from tests.scenarios.test_cli import outage_desk

CALLBACK_OPENING = CALLBACK_NOTE.split("{")[0]


def ours_since(account, ticket_id, before):
    return account.comments(ticket_id)[before:]


def test_resolve_from_the_sidebar_leaves_the_incident_resolving_and_the_worker_notifies_everyone(account, desk):
    report = desk.declare(outage(account))
    mark = len(account.state.emails)

    incident = desk.mark_resolving(report.incident_id, by_user=account.seed.referent_id)

    assert incident.state == "resolving"
    assert [i.id for i in desk.active_incidents()] == [report.incident_id]  # still active: its tag stays taken
    run_tasks(desk)  # the worker's pass: the resolve is a task in the store, nobody re-runs a command

    progress = desk.progress(report.incident_id)
    assert desk.incident_to_resolve().state == "resolved" and progress.pending == 0
    emailed = [e["ticket_id"] for e in account.emails_since(mark)]
    assert len(emailed) == len(set(emailed)) == progress.notified > 40
    assert account.ticket(report.problem_ticket_id)["status"] == "solved"


def test_call_back_tickets_stay_open_out_of_the_problems_cascade_with_whoever_must_call(account, desk):
    report = desk.declare(outage(account))
    closing = desk.resolve(desk.incident(report.incident_id))

    assert closing.resolved and closing.callbacks
    assert account.ticket(report.problem_ticket_id)["status"] == "solved"
    for ticket_id, _phone in closing.callbacks:
        ticket = account.ticket(ticket_id)
        # The customer has not been told yet: open, assigned, no longer the problem's incident, one note.
        assert ticket["status"] == "open" and ticket["assignee_id"] is not None, ticket
        assert ticket["type"] == "task" and ticket["problem_id"] is None, ticket
        assert "outage_desk_live" not in ticket["tags"]  # the reopen trigger is done with it
        notes = [c for c in account.comments(ticket_id) if c["body"].startswith(CALLBACK_OPENING)]
        assert len(notes) == 1 and notes[0]["public"] is False


def test_a_worker_killed_after_its_take_in_write_does_not_note_the_ticket_twice(account, desk, tmp_path):
    desk.declare(outage(account))
    webhooks = WebhookSender(create_app(desk_config(account, tmp_path)).test_client(), WEBHOOK_SECRET, desk.clock)
    ticket_id = account.write_in("API down, no phone", email=None, name="+33 6 12 34 56 78")
    webhooks.ticket_event(ticket_id)
    before = len(account.comments(ticket_id))
    assert drain_inbox(desk).taken_in == 1
    # The worker died after the write and the ledger, before it marked the delivery processed.
    with desk.sessions() as session:
        session.execute(update(InboxRow).values(processed_at=None, outcome=None))
        session.commit()

    again = drain_inbox(desk)

    assert again.events == 1 and again.taken_in == 0
    assert [c["body"] for c in ours_since(account, ticket_id, before)] == ["API DOWN"]


def test_a_take_in_left_submitted_by_a_dead_worker_is_written_once_by_the_next(account, desk, tmp_path):
    report = desk.declare(outage(account))
    ticket_id = account.write_in("API 503 since this morning", email=None, name="+33 6 98 76 54 32")
    before = len(account.comments(ticket_id))
    # The worker recorded the take-in, then died before its write reached Zendesk.
    with desk.sessions() as session:
        session.add(AffectedTicketRow(incident_id=report.incident_id, ticket_id=ticket_id, source="webhook",
                                      taken_in_at=desk.clock.now(), reopened=0, state="submitted",
                                      updated_stamp=account.ticket(ticket_id)["updated_at"], attempts=1,
                                      retry_at=desk.clock.now() + ORPHAN_AFTER))
        session.commit()
    assert desk.retry_take_ins() == 0  # it may still be in flight: not yet

    with desk.sessions() as session:
        session.execute(update(AffectedTicketRow).where(AffectedTicketRow.ticket_id == ticket_id)
                        .values(retry_at=desk.clock.now() - timedelta(seconds=1)))
        session.commit()
    assert desk.retry_take_ins() == 1
    desk.retry_take_ins()

    assert [c["body"] for c in ours_since(account, ticket_id, before)] == ["API DOWN"]
    assert "api_down" in account.ticket(ticket_id)["tags"]


def test_a_take_in_that_cannot_land_is_given_up_with_its_reason_in_status_and_the_report(account, tmp_path):
    clock = FrozenClock(datetime.now(timezone.utc))
    config = desk_config(account, tmp_path)
    desk = build_desk(config, clock)
    try:
        report = desk.declare(outage(account))
        ticket_id = account.write_in("API 503 on every call")
        set_faults(account, item_failure_rate=1.0)  # Zendesk fails this ticket inside every job

        taken, failed = desk.attach(desk.incident(report.incident_id), [ticket_id])

        assert taken == 0 and set(failed) == {ticket_id}
        assert desk.progress(report.incident_id).retrying == 1  # kept, not dropped
        set_faults(account)
        with account.state.lock:  # meanwhile Zendesk's own automation closed it
            account.state.tickets[ticket_id]["status"] = "closed"
        clock.advance(3600)
        desk.retry_take_ins()

        reason = "closed: a closed ticket cannot be changed"
        assert desk.progress(report.incident_id).take_ins_given_up == {ticket_id: reason}
        line = next(line for line in desk.report(desk.incident(report.incident_id)).lines
                    if line.ticket_id == ticket_id)
        assert (line.take_in, line.reason) == ("given_up", reason)
    finally:
        desk.sessions.kw["bind"].dispose()
    status = outage_desk(account, tmp_path, "status", env_overrides={"DATABASE_URL": config.database_url})
    assert f"ticket #{ticket_id}: {reason}" in status.stdout, status.stdout + status.stderr


def set_faults(account, **rates) -> None:
    requests.post(f"{account.url}/_sandbox/faults", json=rates, timeout=10).raise_for_status()
