"""Declare, take in, resolve: the outage's journey through a Zendesk account."""

from __future__ import annotations

import logging
from datetime import timedelta
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.config import Config
from app.errors import InputError, StateError, ZendeskAuthError
from app.incident.detection import Detector
from app.incident.intake import NO_INCIDENT, Intake, IntakeReport
from app.incident.matching import belongs_to
from app.incident.model import (
    PRIORITY_BY_LEVEL, UNSOLVED, IncidentSpec, State, closing_language, impact_level, raised_priority,
)
from app.incident.report import IncidentReport, ticket_lines
from app.incident.resolve import Resolution, ResolveReport, affected_now
from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow, NotificationRow, TaskRow
from app.store.writes import insert_ignoring_duplicates
from app.zendesk.bulk import BulkWriter
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import BulkOutcome, DropdownField, Macro, Ticket, User
from app.zendesk.query import QueryError, parse

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
HISTORY_NOTE = "API DOWN"
# Search indexes new tickets within "a few minutes": the sweep covers twice that.
CATCH_UP_WINDOW = timedelta(minutes=15)
# A backfill claim older than this without finishing means its process died: take it over.
BACKFILL_CLAIM_TIMEOUT = timedelta(minutes=15)
# Written with the acknowledgement, so each customer gets it once whatever reruns.
ACKNOWLEDGED_TAG = "outage_desk_acknowledged"
ACKNOWLEDGEMENT_OFF = "off"  # OUTAGE_DESK_ACK_MACRO=off: no acknowledgement pass
DETACH_NOTE = "Detached from the outage \"{title}\" by an agent in Outage Desk: it will not get the closing email."


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
class TakeInTally:
    """One pipeline's take-in so far; `swept` keeps a ticket the sweep found from being written
    again when the export finds it too, before the store has recorded it."""

    swept: set[int] = field(default_factory=set)
    taken: int = 0
    failed: dict[int, str] = field(default_factory=dict)


def _log_acknowledgement_failures(outcome: BulkOutcome) -> None:
    for ticket_id, reason in outcome.failed.items():
        log.warning("incident.acknowledgement-failed", extra={"ticket": ticket_id, "reason": reason})


@dataclass(frozen=True)
class AccountObjects:
    """The account's own fields, looked up once by id or title."""

    cr_field: DropdownField
    impact_field: DropdownField | None


class OutageDesk:
    """The application service: one per process, shared by the CLI, the web app and the worker."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.alerts = SlackAlerts(config.slack_webhook_url, config.outage_desk_slack_mentions)

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
        return AccountObjects(cr_field=fields[cr_name], impact_field=fields.get(impact_name))

    @cached_property
    def referent(self) -> User | None:
        """The product referent, who writes to abandoned callers and unassigned tickets."""
        return self.gateway.find_user(self.config.outage_desk_referent) if self.config.outage_desk_referent else None

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

    def latest_incident(self) -> IncidentRow | None:
        """The active incident, else the last resolved one (the sidebar shows either)."""
        with self.sessions() as session:
            return session.scalars(select(IncidentRow).order_by(
                (IncidentRow.state == State.RESOLVED).asc(), IncidentRow.id.desc()).limit(1)).first()

    def is_affected(self, incident_id: int, ticket_id: int) -> bool:
        with self.sessions() as session:
            return session.get(AffectedTicketRow, (incident_id, ticket_id)) is not None

    # -- declare ---------------------------------------------------------------

    def declare(self, spec: IncidentSpec, on_progress: Progress | None = None) -> DeclareReport:
        """Open the incident, create its problem ticket and take in every matching ticket since the start.

        :raises StateError: an incident with the same tag is already active.
        :raises InputError: the query, the CR value or the referent does not fit the account.
        """
        incident = self.open_incident(spec, claim_backfill=True)
        try:
            # What the writes need, checked before the first of them.
            self._cr_option(incident)
            log.info("incident.acknowledging", extra={"languages": sorted(self._acknowledgement_macros)})
            self._ensure_problem_ticket(incident)
        except Exception:
            # Nothing was written to Zendesk: free the tag so the admin can simply declare again.
            with self.sessions() as session:
                session.delete(session.get(IncidentRow, incident.id))
                session.commit()
            raise
        return self.backfill(incident, on_progress)

    def open_incident(self, spec: IncidentSpec, origin_ticket_id: int | None = None,
                      claim_backfill: bool = False) -> IncidentRow:
        """Record a declared incident; no Zendesk call (the sidebar's request path uses this).

        With `claim_backfill` the caller runs the backfill itself; otherwise the worker will.

        :raises StateError: an incident with the same tag is already active.
        :raises InputError: the query cannot be parsed.
        """
        try:
            parse(spec.query)  # refuse a bad query before anything is written
        except QueryError as error:
            raise InputError(f"the search query cannot be used: {error}") from None
        incident = IncidentRow(title=spec.title, kind=spec.kind, severity=spec.severity, tag=spec.tag,
                               cr_value=spec.cr_value, query=spec.query, state=State.DECLARED,
                               started_at=spec.started_at, declared_at=self.clock.now(),
                               origin_ticket_id=origin_ticket_id,
                               backfill_claimed_at=self.clock.now() if claim_backfill else None)
        with self.sessions() as session:
            session.add(incident)
            try:
                session.commit()
            except IntegrityError:
                raise StateError(f"an incident with tag {spec.tag!r} is already active") from None
        return incident

    def _ensure_problem_ticket(self, incident: IncidentRow) -> None:
        if incident.problem_ticket_id:
            return
        body = f"{incident.title}\nStarted {incident.started_at.isoformat()}. Tickets matching: {incident.query}"
        incident.problem_ticket_id = self.gateway.create_problem_ticket(
            f"[Outage] {incident.title}", body, PRIORITY_BY_LEVEL[incident.severity])
        with self.sessions() as session:
            session.execute(update(IncidentRow).where(IncidentRow.id == incident.id)
                            .values(problem_ticket_id=incident.problem_ticket_id))
            session.commit()

    def backfill(self, incident: IncidentRow, on_progress: Progress | None = None) -> DeclareReport:
        """Take in every matching ticket since the start (search export: past the 1,000 cap).

        One pipeline of bulk jobs carries every page: while Zendesk works through one page's
        jobs the next page is read, and each page's acknowledgements follow its take-in.
        """
        self._ensure_problem_ticket(incident)
        problem_id = incident.problem_ticket_id
        report = DeclareReport(incident_id=incident.id, problem_ticket_id=problem_id)
        tally = TakeInTally()
        writer = self.gateway.bulk_writer(on_progress)
        # Before the backfill's own writes, so the sweep reads only the last minutes' activity.
        self._catch_up(incident, writer, tally)
        since = incident.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in self.gateway.export_tickets(f"{incident.query} created>={since} status<solved"):
            report.found += len(page)
            eligible = []
            for ticket in page:
                if ticket.status not in UNSOLVED:
                    report.skipped_solved += 1
                elif ticket.id == problem_id or (ticket.requester and ticket.requester.is_agent):
                    report.skipped_agent_requester += ticket.id != problem_id
                else:
                    eligible.append(ticket)
            self._queue_take_in(writer, incident, eligible, "backfill", tally)
        writer.finish()
        report.taken_in, report.failed = tally.taken, tally.failed
        if incident.origin_ticket_id:
            # The ticket the agent declared from belongs in, whatever the query says.
            taken, failed = self.attach(incident, [incident.origin_ticket_id])
            report.taken_in += taken
            report.failed.update(failed)
        with self.sessions() as session:
            session.execute(update(IncidentRow).where(IncidentRow.id == incident.id)
                            .values(backfilled_at=self.clock.now()))
            session.commit()
        self.alerts.send(f":red_circle: Outage declared: *{escape(incident.title)}*. {report.taken_in} tickets taken in "
                         f"and linked to problem ticket #{problem_id}; new ones follow as they arrive. "
                         "Agents: the script is in the Outage Desk sidebar.")
        return report

    def _catch_up(self, incident: IncidentRow, writer: BulkWriter, tally: TakeInTally) -> None:
        """Take in what search has not indexed yet: webhook events from before the declaration go
        back to the worker, and the incremental export is swept over the last minutes."""
        with self.sessions() as session:
            session.execute(update(InboxRow).where(InboxRow.outcome == NO_INCIDENT,
                                                   InboxRow.received_at >= incident.started_at)
                            .values(processed_at=None, outcome=None))
            session.commit()
        query = parse(incident.query)
        since = max(incident.started_at, self.clock.now() - CATCH_UP_WINDOW)
        try:
            for page in self.gateway.updated_tickets(since):
                found = [t for t in page if belongs_to(incident, query, t)]
                self._queue_take_in(writer, incident, found, "sweep", tally)
                tally.swept.update(t.id for t in found)
        except ZendeskAuthError:
            log.warning("incident.no-sweep", extra={"reason": "the incremental export needs an admin's token"})

    def _take_in(self, incident: IncidentRow, tickets: list[Ticket], source: str) -> tuple[int, dict[int, str]]:
        """Take these tickets in now; returns how many were, and the failures."""
        tally = TakeInTally()
        writer = self.gateway.bulk_writer()
        self._queue_take_in(writer, incident, tickets, source, tally)
        writer.finish()
        return tally.taken, tally.failed

    def _queue_take_in(self, writer: BulkWriter, incident: IncidentRow, tickets: list[Ticket], source: str,
                       tally: TakeInTally) -> None:
        """Tag, classify, link, prioritise and keep open; once Zendesk has accepted, record the
        tickets and acknowledge their customers (after, never alongside: one comment per update)."""
        with self.sessions() as session:
            already = set(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id,
                AffectedTicketRow.ticket_id.in_([t.id for t in tickets]))))
        fresh = [t for t in tickets if t.id not in already and t.id not in tally.swept]
        if fresh:
            # Looked up before the write: a bad referent must stop us before anything lands.
            macros = self._acknowledgement_macros
            writer.add([self._take_in_item(incident, t) for t in fresh],
                       then=lambda outcome: self._taken_in(writer, incident, fresh, source, outcome, tally, macros))

    def _taken_in(self, writer: BulkWriter, incident: IncidentRow, tickets: list[Ticket], source: str,
                  outcome: BulkOutcome, tally: TakeInTally, macros: dict[str, Macro]) -> None:
        now = self.clock.now()
        with self.sessions() as session:
            insert_ignoring_duplicates(session, AffectedTicketRow, [
                {"incident_id": incident.id, "ticket_id": ticket_id, "source": source, "taken_in_at": now,
                 "reopened": 0} for ticket_id in sorted(outcome.succeeded)])
            session.commit()
        for ticket_id, reason in outcome.failed.items():
            log.warning("incident.take-in-failed", extra={"ticket": ticket_id, "reason": reason})
        tally.taken += len(outcome.succeeded)
        tally.failed.update(outcome.failed)
        writer.add(self._acknowledgements([t for t in tickets if t.id in outcome.succeeded], macros),
                   then=_log_acknowledgement_failures, then_adds=False)

    @cached_property
    def _acknowledgement_macros(self) -> dict[str, Macro]:
        if self.config.outage_desk_ack_macro.lower() == ACKNOWLEDGEMENT_OFF:
            return {}  # the team acknowledges some other way (its own trigger, by hand)
        if self.referent is None:
            log.warning("incident.no-acknowledgement", extra={"reason": "OUTAGE_DESK_REFERENT is not set"})
            return {}
        try:
            return self.gateway.macros(self.config.outage_desk_ack_macro)
        except InputError as error:
            log.warning("incident.no-acknowledgement", extra={"reason": str(error)})
            return {}

    def _acknowledgements(self, tickets: list[Ticket], macros: dict[str, Macro]) -> list[dict]:
        """The runbook's calm acknowledgement, once per customer, in their language, as the referent."""
        if not macros:
            return []
        items = []
        for ticket in tickets:
            requester = ticket.requester
            # Nobody would read it without an email address; those customers are called back.
            if ACKNOWLEDGED_TAG in ticket.tags or requester is None or not requester.email:
                continue
            macro = macros[closing_language(requester.locale, set(macros), self.config.outage_desk_default_language)]
            items.append({"id": ticket.id, "additional_tags": [ACKNOWLEDGED_TAG],
                          "comment": {"body": macro.comment, "public": True, "author_id": self.referent.id}})
        return items

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
        new_tag = self.config.outage_desk_new_customer_tag
        new_customer = new_tag in ticket.tags or (ticket.requester is not None and new_tag in ticket.requester.tags)
        priority = raised_priority(ticket.priority, impact, incident.severity, new_customer)
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

    def detach(self, incident: IncidentRow, ticket_ids: Iterable[int]) -> tuple[int, dict[int, str]]:
        """Take tickets out of a declared incident: untag, unlink, and note why."""
        if incident.state != State.DECLARED:
            raise StateError(f"incident #{incident.id} is {incident.state}, not declared")
        items = [{"id": ticket_id, "remove_tags": [incident.tag], "type": "question",
                  "comment": {"body": DETACH_NOTE.format(title=incident.title), "public": False}}
                 for ticket_id in ticket_ids if self.is_affected(incident.id, ticket_id)]
        outcome = self.gateway.bulk_update(items)
        with self.sessions() as session:
            for ticket_id in outcome.succeeded:
                session.delete(session.get(AffectedTicketRow, (incident.id, ticket_id)))
            session.commit()
        return len(outcome.succeeded), outcome.failed

    # -- sidebar tasks ---------------------------------------------------------------

    def queue_task(self, kind: str, incident_id: int, ticket_id: int | None = None,
                   user_id: int | None = None) -> None:
        """Store work the worker will do; the sidebar's request path makes no Zendesk call."""
        with self.sessions() as session:
            session.add(TaskRow(kind=kind, incident_id=incident_id, ticket_id=ticket_id, user_id=user_id,
                                created_at=self.clock.now()))
            session.commit()

    def mark_resolved(self, incident_id: int, by_user: int) -> IncidentRow:
        """End the outage in the store at once and queue the closing replies, in one transaction,
        so nothing is reopened while they go out and no resolved incident lacks its task."""
        with self.sessions() as session:
            incident = session.get(IncidentRow, incident_id)
            incident.state, incident.ended_at = State.RESOLVED, self.clock.now()
            session.add(TaskRow(kind="resolve", incident_id=incident_id, user_id=by_user,
                                created_at=self.clock.now()))
            session.commit()
            return incident

    def pending_notifications(self, incident_id: int, author_id: int) -> int:
        """How many of this agent's closing replies are still to send."""
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(NotificationRow).where(
                NotificationRow.incident_id == incident_id, NotificationRow.author_id == author_id,
                NotificationRow.audience == "assigned", NotificationRow.state == "planned")) or 0

    def _claim_backfills(self) -> list[IncidentRow]:
        """Declared incidents nobody is backfilling (or whose backfiller died), now ours."""
        now = self.clock.now()
        stale = now - BACKFILL_CLAIM_TIMEOUT
        claimed = []
        with self.sessions() as session:
            waiting = list(session.scalars(select(IncidentRow.id).where(
                IncidentRow.state == State.DECLARED, IncidentRow.backfilled_at.is_(None))))
            for incident_id in waiting:
                won = session.execute(update(IncidentRow).where(
                    IncidentRow.id == incident_id, IncidentRow.backfilled_at.is_(None),
                    or_(IncidentRow.backfill_claimed_at.is_(None), IncidentRow.backfill_claimed_at < stale))
                    .values(backfill_claimed_at=now)).rowcount
                session.commit()
                if won:
                    claimed.append(session.get(IncidentRow, incident_id))
        return claimed

    def run_tasks(self) -> int:
        """Finish sidebar declarations and run queued tasks, oldest first; returns how many ran."""
        unfinished = self._claim_backfills()
        with self.sessions() as session:
            tasks = list(session.scalars(select(TaskRow).where(TaskRow.done_at.is_(None)).order_by(TaskRow.id)))
        for incident in unfinished:
            self.backfill(incident)
        for task in tasks:
            incident = self.incident(task.incident_id)
            outcome = "done"
            try:
                if task.kind == "attach":
                    self.attach(incident, [task.ticket_id])
                elif task.kind == "detach":
                    self.detach(incident, [task.ticket_id])
                elif task.kind == "resolve":
                    self.resolve(incident)
                elif task.kind == "notify-mine":
                    self.resolve(incident, only_author=task.user_id)
            except StateError as error:
                outcome = f"skipped: {error}"
            with self.sessions() as session:
                session.execute(update(TaskRow).where(TaskRow.id == task.id)
                                .values(done_at=self.clock.now(), outcome=outcome))
                session.commit()
        return len(unfinished) + len(tasks)

    # -- webhook intake ------------------------------------------------------------

    def take_in_pending(self, limit: int = 500) -> IntakeReport:
        """Process stored webhook events: take in new matching tickets, reopen solved ones."""
        # Detection reads each new ticket's subject: worth those reads only with Slack to tell.
        observe = self._detector.observe if self.alerts.enabled else None
        return Intake(self.sessions, self.gateway, self.clock, self.active_incidents,
                      self._take_in, observe).take_in_pending(limit)

    @cached_property
    def _detector(self) -> Detector:
        return Detector(self.sessions, self.clock, self.alerts, self.config.outage_desk_detect_threshold,
                        timedelta(minutes=self.config.outage_desk_detect_window_minutes))

    # -- report ------------------------------------------------------------------

    def report(self, incident: IncidentRow) -> IncidentReport:
        """The incident's report: its tickets as they are in Zendesk now, and the store's ledger."""
        with self.sessions() as session:
            affected = list(session.scalars(select(AffectedTicketRow)
                                            .where(AffectedTicketRow.incident_id == incident.id)))
            notifications = {row.ticket_id: row for row in session.scalars(
                select(NotificationRow).where(NotificationRow.incident_id == incident.id))}
        tickets = {t.id: t for t in affected_now(self.gateway, incident, [row.ticket_id for row in affected])}
        return IncidentReport(incident, ticket_lines(affected, notifications, tickets))

    # -- resolve -----------------------------------------------------------------

    def resolve(self, incident: IncidentRow, dry_run: bool = False, on_progress: Progress | None = None,
                only_author: int | None = None) -> ResolveReport:
        """Send the closing macro to every affected ticket exactly once, then solve the problem."""
        resolution = Resolution(self.config, self.sessions, self.gateway, self.clock, lambda: self.referent)
        with self.sessions() as session:
            already_over = session.get(IncidentRow, incident.id).problem_solved_at is not None
        report = resolution.run(incident, dry_run, on_progress, only_author)
        if report.problem_solved and not already_over:
            self.alerts.send(f":white_check_mark: Outage resolved: *{escape(incident.title)}*. "
                             f"{sum(report.sent.values())} customers got the closing email; "
                             f"{len(report.callbacks)} without an email address are on the call-back list.")
        return report
