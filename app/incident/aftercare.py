"""Aftercare: the customers an outage hurt are looked after more closely for a few weeks.

The case study (seeds/001) asks that, in the weeks after an incident, the customer it hurt be answered
more attentively. Once an incident is resolved the worker marks every affected ticket's requester and
organisation in the store until the outage's end + OUTAGE_DESK_AFTERCARE_WEEKS. The marks live in our
store, keyed by Zendesk ids, and not as user or organisation tags: the raise and the sidebar's banner are
ours, so no trigger needs to see them, and a mark that only we write cannot be half-removed by an admin
editing a user's tags. Their new tickets (webhook `ticket.created`) go up one priority level, never down:
the raise is recorded `submitted` before the write, and the write carries the AFTERCARE_TAG with a safe
update, so after a crash the worker re-reads the ticket and either finds the tag (it landed) or writes it,
and of two racing writes only the first applies. Marks past their date are deleted by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.incident.model import LEVEL_BY_PRIORITY, PRIORITY_BY_LEVEL, State
from app.incident.resolve import affected_now
from app.store.tables import AffectedTicketRow, AftercareRow, AftercareTicketRow, IncidentRow
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket

log = logging.getLogger(__name__)

# Written in the same update as the raise: Zendesk's own record that this ticket was raised once.
AFTERCARE_TAG = "outage_desk_aftercare"
REQUESTER, ORGANIZATION = "requester", "organization"
# A ticket without a priority counts as normal, as Zendesk's views sort it.
UNSET_LEVEL = LEVEL_BY_PRIORITY["normal"]


def raised_one_level(priority: str | None) -> str:
    """One urgency level up; urgent stays urgent."""
    return PRIORITY_BY_LEVEL[max(1, LEVEL_BY_PRIORITY.get(priority or "", UNSET_LEVEL) - 1)]


def level_of(priority: str | None) -> int:
    return LEVEL_BY_PRIORITY.get(priority or "", UNSET_LEVEL)


@dataclass(frozen=True)
class AftercareMark:
    kind: str
    zendesk_id: int
    incident_id: int
    incident_title: str
    until: datetime
    tickets: int  # new tickets of theirs seen in aftercare


class Aftercare:
    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway | None, clock: Clock):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.weeks = timedelta(weeks=config.outage_desk_aftercare_weeks)

    # -- marking and expiry (the worker) ---------------------------------------------------

    def run(self) -> int:
        """The worker's pass: mark the customers of newly resolved outages, finish interrupted raises, drop
        expired marks; returns how many things it did."""
        return self.mark_resolved() + self.settle() + self.expire()

    def mark_resolved(self) -> int:
        """Mark the requesters and organisations of each resolved incident not marked yet; how many incidents."""
        with self.sessions() as session:
            incidents = list(session.scalars(select(IncidentRow).where(
                IncidentRow.state == State.RESOLVED, IncidentRow.aftercare_marked_at.is_(None))))
        for incident in incidents:
            until = (incident.ended_at or self.clock.now()) + self.weeks
            marks: dict[tuple[str, int], None] = {}
            if until > self.clock.now():
                with self.sessions() as session:
                    ids = list(session.scalars(select(AffectedTicketRow.ticket_id).where(
                        AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.state != "given_up")))
                for ticket in affected_now(self.gateway, incident, ids):
                    if ticket.requester_id is not None and not (ticket.requester and ticket.requester.is_agent):
                        marks[(REQUESTER, ticket.requester_id)] = None
                    if ticket.organization_id is not None:
                        marks[(ORGANIZATION, ticket.organization_id)] = None
            # One transaction: the marks and the incident's "marked", so a crash leaves it to mark again.
            with self.sessions() as session:
                for kind, zendesk_id in marks:
                    row = session.get(AftercareRow, (kind, zendesk_id))
                    if row is None:
                        session.add(AftercareRow(kind=kind, zendesk_id=zendesk_id, incident_id=incident.id,
                                                 marked_at=self.clock.now(), until=until))
                    elif row.until < until:  # a later outage extends the mark, never shortens it
                        row.until, row.incident_id = until, incident.id
                session.execute(update(IncidentRow).where(IncidentRow.id == incident.id)
                                .values(aftercare_marked_at=self.clock.now()))
                session.commit()
            log.info("aftercare.marked", extra={"incident": incident.id, "marks": len(marks)})
        return len(incidents)

    def expire(self) -> int:
        """Delete the marks whose weeks are over; how many."""
        with self.sessions() as session:
            gone = session.execute(delete(AftercareRow).where(AftercareRow.until <= self.clock.now())).rowcount
            session.commit()
        if gone:
            log.info("aftercare.expired", extra={"marks": gone})
        return gone

    # -- new tickets (the intake) ------------------------------------------------------------

    def take(self, tickets: Iterable[Ticket]) -> int:
        """Raise the new tickets of customers in aftercare one level, once each; how many were raised."""
        self.record(tickets)
        return self.settle()

    def record(self, tickets: Iterable[Ticket]) -> int:
        """Store the raise each new ticket of a marked customer is due (a redelivered ticket has its row already)."""
        now = self.clock.now()
        recorded = 0
        with self.sessions() as session:
            for ticket in tickets:
                if session.get(AftercareTicketRow, ticket.id) is not None:
                    continue
                mark = self._mark_of(session, ticket)
                if mark is None:
                    continue
                urgent = level_of(ticket.priority) == 1
                session.add(AftercareTicketRow(
                    ticket_id=ticket.id, incident_id=mark.incident_id, kind=mark.kind, zendesk_id=mark.zendesk_id,
                    state="kept" if urgent else "submitted", from_priority=ticket.priority,
                    to_priority=raised_one_level(ticket.priority), updated_stamp=ticket.updated_at,
                    until=mark.until, at=now))
                recorded += 1
            session.commit()
        return recorded

    def _mark_of(self, session: Session, ticket: Ticket) -> AftercareRow | None:
        """The requester's own mark first, else their organisation's; only one still running."""
        for kind, zendesk_id in ((REQUESTER, ticket.requester_id), (ORGANIZATION, ticket.organization_id)):
            if zendesk_id is None:
                continue
            row = session.get(AftercareRow, (kind, zendesk_id))
            if row is not None and row.until > self.clock.now():
                return row
        return None

    def settle(self) -> int:
        """Write every recorded raise not known to have landed; how many landed now.

        The ticket is read first: our tag on it means an earlier write landed (its answer lost, or the
        process died before recording it). Otherwise the raise is written with the ticket's stamp as just
        read: if a queued copy of an earlier write runs too, only the first of the two applies.
        """
        with self.sessions() as session:
            rows = {row.ticket_id: row for row in session.scalars(
                select(AftercareTicketRow).where(AftercareTicketRow.state == "submitted"))}
        if not rows:
            return 0
        current = {t.id: t for t in self.gateway.tickets(rows)}
        settled: dict[int, tuple[str, str | None]] = {}
        items = []
        for ticket_id, row in rows.items():
            ticket = current.get(ticket_id)
            if ticket is None or ticket.status == "closed":
                settled[ticket_id] = ("given_up", "deleted" if ticket is None else "closed")
            elif AFTERCARE_TAG in ticket.tags:
                settled[ticket_id] = ("raised", None)
            elif level_of(ticket.priority) <= level_of(row.to_priority):
                settled[ticket_id] = ("kept", f"already {ticket.priority}")  # someone raised it as far: never lower
            else:
                items.append({"id": ticket_id, "priority": row.to_priority, "additional_tags": [AFTERCARE_TAG],
                              "safe_update": True, "updated_stamp": ticket.updated_at})
        raised = 0
        if items:
            outcome = self.gateway.bulk_update(items)
            for ticket_id in outcome.succeeded:
                settled[ticket_id] = ("raised", None)
                raised += 1
            # A conflict or a failure stays `submitted`: the next pass re-reads the ticket and decides.
            for ticket_id, reason in outcome.failed.items():
                log.warning("aftercare.raise-failed", extra={"ticket": ticket_id, "reason": reason})
        with self.sessions() as session:
            for ticket_id, (state, detail) in settled.items():
                session.execute(update(AftercareTicketRow).where(AftercareTicketRow.ticket_id == ticket_id)
                                .values(state=state, detail=detail))
            session.commit()
        return raised

    # -- what people see ------------------------------------------------------------------------

    def for_ticket(self, ticket_id: int) -> tuple[AftercareTicketRow, IncidentRow] | None:
        """The aftercare a ticket arrived in, while it runs (the sidebar's banner); no Zendesk call."""
        with self.sessions() as session:
            row = session.get(AftercareTicketRow, ticket_id)
            if row is None or row.until <= self.clock.now():
                return None
            return row, session.get(IncidentRow, row.incident_id)

    def marks(self, incident_id: int | None = None) -> list[AftercareMark]:
        """Who is in aftercare now (of one incident), soonest to leave first."""
        query = (select(AftercareRow, IncidentRow.title).join(IncidentRow, IncidentRow.id == AftercareRow.incident_id)
                 .where(AftercareRow.until > self.clock.now()).order_by(AftercareRow.until, AftercareRow.kind,
                                                                        AftercareRow.zendesk_id))
        if incident_id is not None:
            query = query.where(AftercareRow.incident_id == incident_id)
        with self.sessions() as session:
            counts: dict[tuple[str, int], int] = {}
            for kind, zendesk_id in session.execute(select(AftercareTicketRow.kind, AftercareTicketRow.zendesk_id)):
                counts[(kind, zendesk_id)] = counts.get((kind, zendesk_id), 0) + 1
            return [AftercareMark(row.kind, row.zendesk_id, row.incident_id, title, row.until,
                                  counts.get((row.kind, row.zendesk_id), 0))
                    for row, title in session.execute(query)]
