"""The store's own constraints and writes behave alike on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from app.incident.model import State
from app.incident.service import OutageDesk
from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow, NotificationRow, TaskRow
from app.store.writes import insert_ignoring_duplicates
from app.wiring import build_gateway

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def incident(tag: str = "api_down", state: str = State.DECLARED, **values) -> IncidentRow:
    return IncidentRow(title="API down", kind="unplanned", severity=2, tag=tag, cr_value="cr", query="API",
                       state=state, started_at=NOW, **values)


def add(sessions, *rows) -> None:
    with sessions() as session:
        session.add_all(rows)
        session.commit()


def test_one_active_incident_per_tag_but_any_number_resolved(sessions):
    add(sessions, incident(state=State.RESOLVED), incident(state=State.RESOLVED), incident())
    with pytest.raises(IntegrityError):
        add(sessions, incident())
    add(sessions, incident(tag="login_down"))


def test_a_redelivered_webhook_breaks_the_unique_invocation_id(sessions):
    add(sessions, InboxRow(invocation_id="inv-1", event="ticket.created", ticket_id=1, received_at=NOW))
    with pytest.raises(IntegrityError):
        add(sessions, InboxRow(invocation_id="inv-1", event="ticket.created", ticket_id=1, received_at=NOW))


def test_inserting_the_same_tickets_twice_keeps_the_first_rows_and_raises_nothing(sessions):
    add(sessions, incident())
    first = [{"incident_id": 1, "ticket_id": t, "source": "backfill", "taken_in_at": NOW, "reopened": 0}
             for t in (1, 2)]
    again = [{**row, "source": "webhook"} for row in first] + [
        {"incident_id": 1, "ticket_id": 3, "source": "webhook", "taken_in_at": NOW, "reopened": 0}]
    for rows in (first, again):
        with sessions() as session:
            insert_ignoring_duplicates(session, AffectedTicketRow, rows)
            session.commit()
    with sessions() as session:
        stored = session.execute(select(AffectedTicketRow.ticket_id, AffectedTicketRow.source)
                                 .order_by(AffectedTicketRow.ticket_id)).all()
    assert [tuple(row) for row in stored] == [(1, "backfill"), (2, "backfill"), (3, "webhook")]


def test_times_come_back_aware_in_utc_whatever_zone_they_went_in_with(sessions):
    paris = timezone(timedelta(hours=1))
    add(sessions, incident(declared_at=datetime(2026, 11, 22, 13, 30, 15, 250, tzinfo=paris)))
    with sessions() as session:
        row = session.scalars(select(IncidentRow)).one()
        stale = session.scalars(select(IncidentRow.id).where(IncidentRow.declared_at < NOW + timedelta(hours=1)))
    assert row.declared_at == datetime(2026, 11, 22, 12, 30, 15, 250, tzinfo=timezone.utc)
    assert row.declared_at.tzinfo == timezone.utc and row.started_at == NOW
    assert list(stale) == [row.id]


def test_a_naive_time_is_refused(sessions):
    with pytest.raises(StatementError, match="naive datetime"):
        add(sessions, incident(declared_at=datetime(2026, 11, 22, 12)))


def test_the_sidebar_sees_the_active_incident_before_any_resolved_one_then_the_newest(config, sessions, clock):
    desk = OutageDesk(config, sessions, build_gateway(config, clock), clock)
    assert desk.latest_incident() is None
    add(sessions, incident(tag="a", state=State.RESOLVED), incident(tag="b"), incident(tag="c", state=State.RESOLVED))
    assert desk.latest_incident().tag == "b"
    with sessions() as session:
        session.get(IncidentRow, 2).state = State.RESOLVED
        session.commit()
    assert desk.latest_incident().tag == "c"


def test_the_ledger_and_tasks_hold_zendesk_text_of_any_length(sessions):
    add(sessions, incident())
    reason = "UpdateConflict: " + "the ticket changed while we wrote it; " * 20
    add(sessions,
        NotificationRow(incident_id=1, ticket_id=7, audience="abandoned", language="Portuguese (Brazil)",
                        state="submitted:callback-planned", phone="Maria da Conceição dos Santos Albuquerque Lima",
                        updated_stamp="2026-11-22T12:00:00Z", detail=reason, updated_at=NOW),
        TaskRow(kind="resolve", incident_id=1, created_at=NOW, done_at=NOW, outcome=f"skipped: {reason}"))
    with sessions() as session:
        assert session.get(NotificationRow, (1, 7)).detail == reason
        assert session.scalars(select(TaskRow.outcome)).one() == f"skipped: {reason}"
