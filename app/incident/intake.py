"""Take in webhook events: new matching tickets join the declared incident, solved ones reopen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.incident.matching import belongs_to
from app.incident.model import State
from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket
from app.zendesk.query import Query, parse

log = logging.getLogger(__name__)

# Kept findable: a declaration re-examines these, since search has not indexed those tickets yet.
NO_INCIDENT = "ignored: no declared incident"
NOT_IN_AN_INCIDENT = "ignored: not part of an incident"
# Recorded on the event, with the stamp, before the reopen note is written: a replay after a crash
# sends the very same safe update, which Zendesk applies only if the first never landed.
REOPENING = "reopening at "
REOPEN_NOTE = ("Reopened by Outage Desk: this ticket belongs to the ongoing outage \"{title}\" and stays open "
               "until it is resolved; the customer then gets the closing email.")

# The desk's take-in: (incident, tickets, source) -> (how many taken in, failures by ticket id).
TakeIn = Callable[[IncidentRow, list[Ticket], str], tuple[int, dict[int, str]]]
# Detection, and aftercare's raise: see the new tickets no declared incident took in.
Observe = Callable[[list[Ticket]], object]
# Tickets their customer reopened after the closing email: followed up, each with its outcome.
FollowUp = Callable[[set[int]], dict[int, str]]
REOPENED_EVENT = "ticket.reopened"
# SLA breach alerts: (events) -> outcome by event id; an event left out stays pending, to be tried again.
SlaBreaches = Callable[[list[InboxRow]], dict[int, str]]
SLA_BREACHED = "ticket.sla_breached"


@dataclass
class IntakeReport:
    events: int = 0
    taken_in: int = 0
    reopened: int = 0
    ignored: int = 0
    unknown: int = 0
    failed: int = 0


class Intake:
    """Works through the stored webhook events with the desk's own incidents and take-in."""

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 active_incidents: Callable[[], list[IncidentRow]], take_in: TakeIn, observe: Observe | None = None,
                 aftercare: Observe | None = None, sla_breaches: SlaBreaches | None = None,
                 follow_up: FollowUp | None = None):
        self.sessions = sessions
        self.sla_breaches = sla_breaches
        self.gateway = gateway
        self.clock = clock
        self.active_incidents = active_incidents
        self.take_in = take_in
        self.observe = observe
        self.follow_up = follow_up
        self.aftercare = aftercare

    def take_in_pending(self, limit: int = 500) -> IntakeReport:
        """Process stored webhook events: take in new matching tickets, reopen solved ones."""
        report = IntakeReport()
        with self.sessions() as session:
            events = list(session.scalars(select(InboxRow).where(InboxRow.processed_at.is_(None))
                                          .order_by(InboxRow.id).limit(limit)))
        if not events:
            return report
        breaches = [e for e in events if e.event == SLA_BREACHED]
        if breaches and self.sla_breaches:
            # Not the outage's business: the referents hear of the breach whatever is declared.
            handled = self.sla_breaches(breaches)
            self._record(handled)
            events = [e for e in events if e.event != SLA_BREACHED]
            report.events += len(handled)  # those left for later must not keep the drain looping
            if not events:
                return report
        incidents = [i for i in self.active_incidents() if i.state == State.DECLARED]
        if any(i.backfilled_at is None for i in incidents):
            # A backfill is taking tickets in and has not recorded them all yet: its events wait,
            # or a ticket both of us find would be written, and acknowledged, twice.
            return report
        report.events += len(events)
        outcomes: dict[int, str] = {}
        if self.follow_up:
            # Reopened after an outage's end: not this outage's business, whether or not one is declared.
            reopened = [e for e in events if e.event == REOPENED_EVENT]
            if reopened:
                followed = self.follow_up({e.ticket_id for e in reopened})
                outcomes.update({e.id: followed.get(e.ticket_id, "ignored") for e in reopened})
                events = [e for e in events if e.event != REOPENED_EVENT]
        created = {e.ticket_id for e in events if e.event == "ticket.created"}
        if not incidents:
            outcomes.update({e.id: NO_INCIDENT for e in events})
            report.ignored = len(events)
            wanted = created if self.observe or self.aftercare else set()
            tickets = {t.id: t for t in self.gateway.tickets(wanted)} if wanted else {}
        else:
            tickets = {t.id: t for t in self.gateway.tickets({e.ticket_id for e in events})}
            self._dispatch(events, tickets, incidents, outcomes, report)
        # Only tickets no declared incident claims: those are already handled.
        unclaimed = {e.ticket_id for e in events if outcomes.get(e.id) in (NO_INCIDENT, NOT_IN_AN_INCIDENT)}
        new = [tickets[i] for i in sorted(created & unclaimed) if i in tickets]
        if self.aftercare:
            # Before the events are marked processed: a crash here takes them again, and the raise's own
            # ledger and tag make the second pass change nothing.
            self.aftercare(new)
        self._record(outcomes)
        if self.observe:
            self.observe(new)
        return report

    def _record(self, outcomes: dict[int, str]) -> None:
        now = self.clock.now()
        with self.sessions() as session:
            for event_id, outcome in outcomes.items():
                session.execute(update(InboxRow).where(InboxRow.id == event_id)
                                .values(processed_at=now, outcome=outcome[:200]))
            session.commit()

    def _reopen_stamps(self, events: list[InboxRow], to_reopen: dict[int, tuple[IncidentRow, Ticket]]) -> dict[int, str]:
        stamps = {ticket.id: ticket.updated_at for _incident, ticket in to_reopen.values()}
        for event in events:
            if event.ticket_id in stamps and _stamp_of(event.outcome):
                stamps[event.ticket_id] = _stamp_of(event.outcome)
        with self.sessions() as session:
            for event in events:
                if event.ticket_id in stamps:
                    session.execute(update(InboxRow).where(InboxRow.id == event.id)
                                    .values(outcome=REOPENING + stamps[event.ticket_id]))
            session.commit()
        return stamps

    def _dispatch(self, events: list[InboxRow], tickets: dict[int, Ticket], incidents: list[IncidentRow],
                  outcomes: dict[int, str], report: IntakeReport) -> None:
        queries: dict[int, Query] = {i.id: parse(i.query) for i in incidents}
        with self.sessions() as session:
            affected = {(row.incident_id, row.ticket_id) for row in session.scalars(
                select(AffectedTicketRow).where(AffectedTicketRow.ticket_id.in_(list(tickets))))}
        to_take: dict[int, dict[int, Ticket]] = {i.id: {} for i in incidents}
        to_reopen: dict[int, tuple[IncidentRow, Ticket]] = {}
        for event in events:
            ticket = tickets.get(event.ticket_id)
            if ticket is None:
                log.warning("intake.unknown-ticket", extra={"ticket": event.ticket_id, "event": event.event})
                outcomes[event.id] = "skipped: unknown ticket"
                report.unknown += 1
                continue
            outcomes[event.id] = NOT_IN_AN_INCIDENT
            for incident in incidents:
                if (incident.id, ticket.id) in affected:
                    # Solved by an agent: reopen it. Already reopened by our trigger (which cannot
                    # write comments) but announced as solved: add the note saying why.
                    if ticket.status == "solved" or event.event == "ticket.solved":
                        to_reopen[ticket.id] = (incident, ticket)
                        outcomes[event.id] = f"reopen for incident #{incident.id}"
                    else:
                        outcomes[event.id] = f"already in incident #{incident.id}"
                    break
                if belongs_to(incident, queries[incident.id], ticket):
                    to_take[incident.id][ticket.id] = ticket
                    outcomes[event.id] = f"take in for incident #{incident.id}"
                    break
        for incident in incidents:
            batch = list(to_take[incident.id].values())
            if batch:
                taken, failed = self.take_in(incident, batch, "webhook")
                report.taken_in += taken
                report.failed += len(failed)
                _mark_failed(events, failed, outcomes)
        if to_reopen:
            stamps = self._reopen_stamps(events, to_reopen)
            items = [{"id": t.id, "status": "open", "safe_update": True, "updated_stamp": stamps[t.id],
                      "comment": {"body": REOPEN_NOTE.format(title=i.title), "public": False}}
                     for i, t in to_reopen.values()]
            outcome = self.gateway.bulk_update(items)
            # A conflict means the ticket changed since the stamp: our note landed before a crash, or
            # someone else wrote; either way this solve needs no second note.
            outcome.failed = {t: r for t, r in outcome.failed.items() if not r.startswith("UpdateConflict")}
            report.reopened += len(outcome.succeeded)
            report.failed += len(outcome.failed)
            _mark_failed(events, outcome.failed, outcomes)


def _stamp_of(outcome: str | None) -> str | None:
    return outcome.removeprefix(REOPENING) if outcome and outcome.startswith(REOPENING) else None


def _mark_failed(events: list[InboxRow], failed: dict[int, str], outcomes: dict[int, str]) -> None:
    for event in events:
        if event.ticket_id in failed:
            outcomes[event.id] = f"failed: {failed[event.ticket_id]}"
