"""Declare, take in, resolve: the outage's journey through a Zendesk account."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.errors import InputError, StateError
from app.incident.model import (
    PRIORITY_BY_LEVEL, UNSOLVED, Audience, IncidentSpec, State, audience_of, closing_language, impact_level, raised_priority,
)
from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow, NotificationRow
from app.zendesk.gateway import ZendeskGateway, chunks
from app.zendesk.model import DropdownField, Macro, Ticket, User
from app.zendesk.query import Query, parse

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
HISTORY_NOTE = "API DOWN"
REOPEN_NOTE = ("Reopened by Outage Desk: this ticket belongs to the ongoing outage \"{title}\" and stays open "
               "until it is resolved; the customer then gets the closing email.")
CALLBACK_NOTE = ("Outage resolved. This requester has no email address, so no closing email could be sent: "
                 "please call them back on {phone}.")
PROBLEM_SOLVED_NOTE = "Outage resolved by Outage Desk: {sent} customers notified, {callback} on the callback list."
# How many times a closing write is re-planned after a safe-update conflict (someone else
# touched the ticket between our read and our write).
MAX_CONFLICT_RETRIES = 3


@dataclass
class DeclareReport:
    incident_id: int
    problem_ticket_id: int
    found: int = 0
    taken_in: int = 0
    skipped_solved: int = 0
    skipped_agent_requester: int = 0
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class IntakeReport:
    events: int = 0
    taken_in: int = 0
    reopened: int = 0
    ignored: int = 0
    unknown: int = 0
    failed: int = 0


@dataclass
class ResolveReport:
    incident_id: int
    planned: Counter = field(default_factory=Counter)  # audience -> tickets to email
    sent: Counter = field(default_factory=Counter)
    failed: dict[int, str] = field(default_factory=dict)
    callbacks: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, phone)
    problem_solved: bool = False


@dataclass(frozen=True)
class AccountObjects:
    """The account's own fields, macros and referent, looked up once by id or title."""

    cr_field: DropdownField
    impact_field: DropdownField | None
    referent: User | None


class OutageDesk:
    """The application service: one per process, shared by the CLI, the web app and the worker."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock

    # -- account objects -------------------------------------------------------

    @cached_property
    def account(self) -> AccountObjects:
        cr_name, impact_name = self.config.outage_desk_cr_field, self.config.outage_desk_impact_field
        fields = self.gateway.dropdown_fields(cr_name, impact_name)
        if cr_name not in fields:
            raise InputError(f"no drop-down ticket field {cr_name!r} (OUTAGE_DESK_CR_FIELD)")
        if impact_name not in fields:
            # Priorities then follow the incident's level alone.
            log.warning("incident.no-impact-field", extra={"field": impact_name})
        referent = self.gateway.find_user(self.config.outage_desk_referent) if self.config.outage_desk_referent else None
        return AccountObjects(cr_field=fields[cr_name], impact_field=fields.get(impact_name), referent=referent)

    def _cr_option(self, incident: IncidentRow) -> str:
        value = self.account.cr_field.option_value(incident.cr_value)
        if value is None:
            raise InputError(f"the field {self.account.cr_field.title!r} has no option {incident.cr_value!r}")
        return value

    # -- queries ---------------------------------------------------------------

    def active_incidents(self) -> list[IncidentRow]:
        with self.sessions() as session:
            return list(session.scalars(select(IncidentRow).where(IncidentRow.state != State.RESOLVED)
                                        .order_by(IncidentRow.id)))

    def incident(self, incident_id: int | None = None, tag: str | None = None) -> IncidentRow:
        """An incident by id, or the active one (for a tag).

        :raises StateError: none found, or several active and none named.
        """
        with self.sessions() as session:
            if incident_id is not None:
                row = session.get(IncidentRow, incident_id)
                if row is None:
                    raise StateError(f"no incident #{incident_id}")
                return row
        active = [i for i in self.active_incidents() if tag is None or i.tag == tag]
        if not active:
            raise StateError("no active incident" + (f" with tag {tag!r}" if tag else ""))
        if len(active) > 1:
            raise StateError("several incidents are active; name one with --incident")
        return active[0]

    def affected_count(self, incident_id: int) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(AffectedTicketRow)
                                  .where(AffectedTicketRow.incident_id == incident_id)) or 0

    # -- declare ---------------------------------------------------------------

    def declare(self, spec: IncidentSpec, on_progress: Progress | None = None) -> DeclareReport:
        """Open the incident, create its problem ticket and take in every matching ticket since the start.

        :raises StateError: an incident with the same tag is already active.
        :raises InputError: the query or the CR value does not fit the account.
        """
        parse(spec.query)  # refuse a bad query before anything is written
        now = self.clock.now()
        incident = IncidentRow(title=spec.title, kind=spec.kind, severity=spec.severity, tag=spec.tag,
                               cr_value=spec.cr_value, query=spec.query, state=State.DECLARED,
                               started_at=spec.started_at, declared_at=now)
        self._cr_option(incident)
        with self.sessions() as session:
            session.add(incident)
            try:
                session.commit()
            except IntegrityError:
                raise StateError(f"an incident with tag {spec.tag!r} is already active") from None
        body = f"{spec.title}\nStarted {spec.started_at.isoformat()}. Tickets matching: {spec.query}"
        try:
            problem_id = self.gateway.create_problem_ticket(f"[Outage] {spec.title}", body,
                                                            PRIORITY_BY_LEVEL[spec.severity])
        except Exception:
            # Nothing was written to Zendesk: free the tag so the admin can simply declare again.
            with self.sessions() as session:
                session.delete(session.get(IncidentRow, incident.id))
                session.commit()
            raise
        with self.sessions() as session:
            incident = session.get(IncidentRow, incident.id)
            incident.problem_ticket_id = problem_id
            session.commit()
        report = DeclareReport(incident_id=incident.id, problem_ticket_id=problem_id)
        since = spec.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in self.gateway.export_tickets(f"{spec.query} created>={since} status<solved"):
            report.found += len(page)
            eligible = []
            for ticket in page:
                if ticket.status not in UNSOLVED:
                    report.skipped_solved += 1
                elif ticket.id == problem_id or (ticket.requester and ticket.requester.is_agent):
                    report.skipped_agent_requester += ticket.id != problem_id
                else:
                    eligible.append(ticket)
            taken, failed = self._take_in(incident, eligible, "backfill", on_progress)
            report.taken_in += taken
            report.failed.update(failed)
        return report

    def _take_in(self, incident: IncidentRow, tickets: list[Ticket], source: str,
                 on_progress: Progress | None = None) -> tuple[int, dict[int, str]]:
        """Tag, classify, link, prioritise and keep open; record what Zendesk accepted."""
        with self.sessions() as session:
            already = set(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id,
                AffectedTicketRow.ticket_id.in_([t.id for t in tickets]))))
        fresh = [t for t in tickets if t.id not in already]
        if not fresh:
            return 0, {}
        items = [self._take_in_item(incident, t) for t in fresh]
        outcome = self.gateway.bulk_update(items, on_progress)
        now = self.clock.now()
        with self.sessions() as session:
            session.add_all(AffectedTicketRow(incident_id=incident.id, ticket_id=ticket_id, source=source,
                                              taken_in_at=now, reopened=0)
                            for ticket_id in sorted(outcome.succeeded))
            session.commit()
        for ticket_id, reason in outcome.failed.items():
            log.warning("incident.take-in-failed", extra={"ticket": ticket_id, "reason": reason})
        return len(outcome.succeeded), outcome.failed

    def _take_in_item(self, incident: IncidentRow, ticket: Ticket) -> dict:
        item = {
            "id": ticket.id,
            "additional_tags": [incident.tag],
            "custom_fields": [{"id": self.account.cr_field.id, "value": self._cr_option(incident)}],
            "comment": {"body": HISTORY_NOTE, "public": False},
            "type": "incident",
            "problem_id": incident.problem_ticket_id,
            "status": "open",
        }
        impact_field = self.account.impact_field
        impact = impact_level(ticket.custom_fields.get(impact_field.id)) if impact_field else None
        priority = raised_priority(ticket.priority, impact, incident.severity)
        if priority:
            item["priority"] = priority
        return item

    # -- during the outage -------------------------------------------------------

    def attach(self, incident: IncidentRow, ticket_ids: Iterable[int]) -> tuple[int, dict[int, str]]:
        """Take tickets into a declared incident by hand (the sidebar's and the CLI's attach).

        :raises StateError: the incident is not declared.
        """
        if incident.state != State.DECLARED:
            raise StateError(f"incident #{incident.id} is {incident.state}, not declared")
        wanted = set(ticket_ids)
        tickets = self.gateway.tickets(wanted)
        missing = wanted - {t.id for t in tickets}
        taken, failed = self._take_in(incident, tickets, "attach")
        failed.update({ticket_id: "RecordNotFound: no such ticket" for ticket_id in missing})
        return taken, failed


    def take_in_pending(self, limit: int = 500) -> IntakeReport:
        """Process stored webhook events: take in new matching tickets, reopen solved ones."""
        report = IntakeReport()
        with self.sessions() as session:
            events = list(session.scalars(select(InboxRow).where(InboxRow.processed_at.is_(None))
                                          .order_by(InboxRow.id).limit(limit)))
        if not events:
            return report
        report.events = len(events)
        outcomes: dict[int, str] = {}
        incidents = [i for i in self.active_incidents() if i.state == State.DECLARED]
        if not incidents:
            outcomes = {e.id: "ignored: no declared incident" for e in events}
            report.ignored = len(events)
        else:
            tickets = {t.id: t for t in self.gateway.tickets({e.ticket_id for e in events})}
            self._dispatch(events, tickets, incidents, outcomes, report)
        now = self.clock.now()
        with self.sessions() as session:
            for event_id, outcome in outcomes.items():
                session.execute(update(InboxRow).where(InboxRow.id == event_id)
                                .values(processed_at=now, outcome=outcome[:200]))
            session.commit()
        return report

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
            outcomes[event.id] = "ignored: not part of an incident"
            for incident in incidents:
                if (incident.id, ticket.id) in affected:
                    if ticket.status == "solved":
                        to_reopen[ticket.id] = (incident, ticket)
                        outcomes[event.id] = f"reopen for incident #{incident.id}"
                    else:
                        outcomes[event.id] = f"already in incident #{incident.id}"
                    break
                if (ticket.status in UNSOLVED and ticket.id != incident.problem_ticket_id
                        and not (ticket.requester and ticket.requester.is_agent)
                        and queries[incident.id].matches(ticket.search_document(),
                                                         _requester_document(ticket.requester))):
                    to_take[incident.id][ticket.id] = ticket
                    outcomes[event.id] = f"take in for incident #{incident.id}"
                    break
        for incident in incidents:
            batch = list(to_take[incident.id].values())
            if batch:
                taken, failed = self._take_in(incident, batch, "webhook")
                report.taken_in += taken
                report.failed += len(failed)
                self._mark_failed(events, failed, outcomes)
        if to_reopen:
            items = [{"id": t.id, "status": "open", "comment": {"body": REOPEN_NOTE.format(title=i.title),
                                                                 "public": False}}
                     for i, t in to_reopen.values()]
            outcome = self.gateway.bulk_update(items)
            report.reopened += len(outcome.succeeded)
            report.failed += len(outcome.failed)
            self._mark_failed(events, outcome.failed, outcomes)

    @staticmethod
    def _mark_failed(events: list[InboxRow], failed: dict[int, str], outcomes: dict[int, str]) -> None:
        for event in events:
            if event.ticket_id in failed:
                outcomes[event.id] = f"failed: {failed[event.ticket_id]}"

    # -- resolve -----------------------------------------------------------------

    def resolve(self, incident: IncidentRow, dry_run: bool = False,
                on_progress: Progress | None = None) -> ResolveReport:
        """Send the closing macro to every affected ticket exactly once, then solve the problem.

        Safe to run again after a crash or a failure: the ledger says what is left.
        """
        self.config.require("outage_desk_referent")
        macros = self.gateway.macros(self.config.outage_desk_closing_macro)
        if dry_run:
            return self._plan_report(incident, self._plan(incident, macros))
        if incident.state != State.RESOLVED:
            with self.sessions() as session:
                row = session.get(IncidentRow, incident.id)
                row.state, row.ended_at = State.RESOLVED, self.clock.now()
                session.commit()
        with self.sessions() as session:
            planned = session.scalar(select(func.count()).select_from(NotificationRow)
                                     .where(NotificationRow.incident_id == incident.id))
        if not planned:
            with self.sessions() as session:
                session.add_all(self._plan(incident, macros))
                session.commit()
        self._reconcile_submitted(incident)
        self._send_planned(incident, macros, on_progress)
        report = self._ledger_report(incident)
        if not report.failed and incident.problem_ticket_id:
            self._solve_problem(incident, report)
        return report

    def _plan(self, incident: IncidentRow, macros: dict[str, Macro]) -> list[NotificationRow]:
        with self.sessions() as session:
            ids = list(session.scalars(select(AffectedTicketRow.ticket_id)
                                       .where(AffectedTicketRow.incident_id == incident.id)))
        referent = self.account.referent
        now = self.clock.now()
        rows = []
        for batch in chunks(ids, 1000):
            for ticket in self.gateway.tickets(batch):
                if ticket.status == "closed":
                    continue
                audience = audience_of(ticket.tags, ticket.channel, ticket.via_rel, ticket.assignee_id)
                requester = ticket.requester
                language = closing_language(requester.locale if requester else None, set(macros),
                                            self.config.outage_desk_default_language)
                author = ticket.assignee_id if audience == Audience.ASSIGNED else referent.id
                no_email = requester is None or not requester.email
                rows.append(NotificationRow(
                    incident_id=incident.id, ticket_id=ticket.id, audience=audience, language=language,
                    state="callback-planned" if no_email else "planned", author_id=author,
                    phone=(requester.phone or requester.name) if requester and no_email else None,
                    updated_stamp=ticket.updated_at, updated_at=now))
        return rows

    @staticmethod
    def _plan_report(incident: IncidentRow, rows: list[NotificationRow]) -> ResolveReport:
        report = ResolveReport(incident_id=incident.id)
        for row in rows:
            if row.state == "callback-planned":
                report.callbacks.append((row.ticket_id, row.phone or ""))
            else:
                report.planned[row.audience] += 1
        return report

    def _closing_item(self, row: NotificationRow, macro: Macro) -> dict:
        referent_id = self.account.referent.id
        item: dict = {"id": row.ticket_id, "safe_update": True, "updated_stamp": row.updated_stamp}
        if row.state == "callback-planned":
            item["comment"] = {"body": CALLBACK_NOTE.format(phone=row.phone or "unknown"), "public": False,
                               "author_id": referent_id}
            item["additional_tags"] = [callback_tag(row.incident_id)]
        else:
            item["comment"] = {"body": macro.comment, "public": macro.public, "author_id": row.author_id}
            item["additional_tags"] = [closing_tag(row.incident_id)]
            if macro.status:
                item["status"] = macro.status
        if row.audience != Audience.ASSIGNED:
            item["assignee_id"] = referent_id
        return item

    def _send_planned(self, incident: IncidentRow, macros: dict[str, Macro], on_progress: Progress | None) -> None:
        for _attempt in range(MAX_CONFLICT_RETRIES + 1):
            with self.sessions() as session:
                rows = list(session.scalars(select(NotificationRow).where(
                    NotificationRow.incident_id == incident.id,
                    NotificationRow.state.in_(("planned", "callback-planned")))))
            if not rows:
                return
            items = [self._closing_item(row, macros[row.language]) for row in rows]
            kinds = {r.ticket_id: r.state for r in rows}
            # Recorded before the write: after a crash, reconciliation knows what may have landed.
            for kind in ("planned", "callback-planned"):
                self._set_state(incident.id, [t for t, k in kinds.items() if k == kind], f"submitted:{kind}")
            outcome = self.gateway.bulk_update(items, on_progress)
            self._set_done(incident.id, outcome.succeeded, kinds)
            conflicts = [tid for tid, reason in outcome.failed.items() if reason.startswith("UpdateConflict")]
            hard = {tid: reason for tid, reason in outcome.failed.items() if tid not in conflicts}
            for ticket_id, reason in hard.items():
                self._set_state(incident.id, [ticket_id], "failed", detail=reason)
            if conflicts:
                self._recheck(incident, conflicts, kinds)

    def _reconcile_submitted(self, incident: IncidentRow) -> None:
        """After a crash: a submitted write either landed (its tag says so) or is re-planned."""
        with self.sessions() as session:
            rows = list(session.scalars(select(NotificationRow).where(
                NotificationRow.incident_id == incident.id, NotificationRow.state.like("submitted%"))))
        if rows:
            self._recheck(incident, [r.ticket_id for r in rows],
                          {r.ticket_id: r.state.removeprefix("submitted:") for r in rows})

    def _recheck(self, incident: IncidentRow, ticket_ids: list[int], kinds: dict[int, str]) -> None:
        marks = {closing_tag(incident.id), callback_tag(incident.id)}
        landed, again = set(), {}
        for ticket in self.gateway.tickets(ticket_ids):
            if marks.intersection(ticket.tags):
                landed.add(ticket.id)
            else:
                again[ticket.id] = ticket.updated_at
        self._set_done(incident.id, landed, kinds)
        with self.sessions() as session:
            for ticket_id, stamp in again.items():
                session.execute(update(NotificationRow).where(
                    NotificationRow.incident_id == incident.id, NotificationRow.ticket_id == ticket_id)
                    .values(state=kinds[ticket_id], updated_stamp=stamp, updated_at=self.clock.now()))
            session.commit()

    def _set_done(self, incident_id: int, ticket_ids: Iterable[int], kinds: dict[int, str]) -> None:
        by_kind: dict[str, list[int]] = {"sent": [], "callback": []}
        for ticket_id in ticket_ids:
            by_kind["callback" if kinds[ticket_id] == "callback-planned" else "sent"].append(ticket_id)
        for state, ids in by_kind.items():
            self._set_state(incident_id, ids, state)

    def _set_state(self, incident_id: int, ticket_ids: list[int], state: str, detail: str | None = None) -> None:
        with self.sessions() as session:
            for batch in chunks(ticket_ids, 500):
                session.execute(update(NotificationRow).where(
                    NotificationRow.incident_id == incident_id, NotificationRow.ticket_id.in_(batch))
                    .values(state=state, detail=detail, updated_at=self.clock.now()))
            session.commit()

    def _ledger_report(self, incident: IncidentRow) -> ResolveReport:
        report = ResolveReport(incident_id=incident.id)
        with self.sessions() as session:
            for row in session.scalars(select(NotificationRow).where(NotificationRow.incident_id == incident.id)):
                if row.state == "callback":
                    report.callbacks.append((row.ticket_id, row.phone or ""))
                    continue
                if row.state == "sent":
                    report.sent[row.audience] += 1
                elif row.state == "failed":
                    report.failed[row.ticket_id] = row.detail or "failed"
                if row.state != "callback-planned":
                    report.planned[row.audience] += 1
        return report

    def _solve_problem(self, incident: IncidentRow, report: ResolveReport) -> None:
        # Solving a problem solves its linked incidents and copies its comment to them: the
        # comment stays private so no customer gets a second email.
        note = PROBLEM_SOLVED_NOTE.format(sent=sum(report.sent.values()), callback=len(report.callbacks))
        outcome = self.gateway.bulk_update([{
            "id": incident.problem_ticket_id, "status": "solved", "assignee_id": self.account.referent.id,
            "comment": {"body": note, "public": False, "author_id": self.account.referent.id}}])
        report.problem_solved = incident.problem_ticket_id in outcome.succeeded


def closing_tag(incident_id: int) -> str:
    """The tag written in the same update as the closing reply: Zendesk's own record of it."""
    return f"outage_desk_closed_{incident_id}"


def callback_tag(incident_id: int) -> str:
    """The tag on tickets whose requester must be called back instead."""
    return f"outage_desk_callback_{incident_id}"


def _requester_document(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "email": user.email, "name": user.name, "locale": user.locale, "role": user.role}
