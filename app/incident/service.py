"""Declare, take in, resolve: the outage's journey through a Zendesk account."""

from __future__ import annotations

import logging
from datetime import timedelta
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.config import Config
from app.errors import InputError, StateError, ZendeskAuthError
from app.incident.aftercare import Aftercare
from app.hygiene.comment_redaction import CommentRedaction
from app.hygiene.secret_finder import SecretFinder
from app.incident.agent_settings import AgentSettings
from app.incident.detection import Cluster, Detector, cluster_of
from app.incident.duplicates import MERGED, Duplicates
from app.incident.expiry import SuspicionExpiry
from app.incident.history import CLI, WORKER, changes_of, record_change
from app.incident.intake import NO_INCIDENT, Intake, IntakeReport
from app.incident.interim import InterimUpdates, UpdateReport
from app.incident.maintenance import Maintenance
from app.incident.matching import belongs_to
from app.incident.model import (
    ACTIVE_STATES, NEVER_DECLARED, PRIORITY_BY_LEVEL, UNSOLVED, IncidentSpec, State, closing_language,
)
from app.incident.referent import ReferentLookup
from app.incident.reopened import Reopened
from app.incident.reply_ledger import INLINE_RETRY_WINDOW
from app.incident.report import IncidentReport, ticket_lines
from app.incident.sla_alerts import SlaBreachAlerts
from app.incident.sla_plans import Plans, read_plans
from app.incident.resolve import Resolution, ResolveReport, affected_now
from app.incident.status_page import StatusPage
from app.incident.take_in import (
    LIVE_TAG, AccountObjects, TakeIn, TakeInTally, log_failures, protected_tags, taken_tag,
)
from app.incident.triggers import set_update_trigger
from app.incident.update_message import UpdateMessage
from app.incident.voice import VoiceWatch
from app.store.tables import (AffectedTicketRow, InboxRow, IncidentRow, NotificationRow, StateChangeRow, TaskRow,
                              UpdateRow)
from app.zendesk.bulk import BulkWriter
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Macro, Ticket, User
from app.zendesk.query import QueryError, parse

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
# Search indexes new tickets within "a few minutes": the sweep covers twice that.
CATCH_UP_WINDOW = timedelta(minutes=15)
# A backfill claim older than this without finishing means its process died: take it over.
BACKFILL_CLAIM_TIMEOUT = timedelta(minutes=15)
ACKNOWLEDGEMENT_OFF = "off"  # OUTAGE_DESK_ACK_MACRO=off: no acknowledgement pass
DETACH_NOTE = "Detached from the outage \"{title}\" by an agent in Outage Desk: it will not get the closing email."


@dataclass
class DeclareReport:
    incident_id: int
    problem_ticket_id: int
    found: int = 0
    taken_in: int = 0
    acknowledged: int = 0
    skipped_solved: int = 0
    skipped_agent_requester: int = 0
    resumed: bool = False  # an earlier declare of the same incident was interrupted: this one finished it
    retrying: dict[int, str] = field(default_factory=dict)  # left to the worker, with the last failure
    given_up: dict[int, str] = field(default_factory=dict)  # closed or deleted since: the reason


@dataclass
class IncidentProgress:
    taken: int = 0
    retrying: int = 0  # submitted, or failed and waiting to be tried again
    take_ins_given_up: dict[int, str] = field(default_factory=dict)
    notified: int = 0
    callbacks: int = 0
    pending: int = 0
    replies_given_up: dict[int, str] = field(default_factory=dict)


class OutageDesk:
    """The application service: one per process, shared by the CLI, the web app and the worker.

    Without a gateway, it answers from the store only (`outage-desk status`).
    """

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway | None,
                 clock: Clock):
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
            log.warning("incident.no-impact-field", extra={"field": impact_name, "why": (
                f"no drop-down ticket field {impact_name!r} (OUTAGE_DESK_IMPACT_FIELD): "
                "priorities follow the incident's severity alone")})
        return AccountObjects(cr_field=fields[cr_name], impact_field=fields.get(impact_name))

    @property
    def referent(self) -> User | None:
        """The product referent, who writes to abandoned callers and unassigned tickets.

        :raises InputError: no such user; ZendeskError: Zendesk did not answer (both remembered a minute).
        """
        return self._referent.user()

    @cached_property
    def _referent(self) -> ReferentLookup:
        return ReferentLookup(self.gateway, self.clock, self.config.outage_desk_referent)

    @cached_property
    def take_ins(self) -> TakeIn:
        return TakeIn(self.config, self.sessions, self.gateway, self.clock, lambda: self.account,
                      lambda: self.referent, lambda: self._acknowledgement_macros)

    # -- queries ---------------------------------------------------------------

    def active_incidents(self) -> list[IncidentRow]:
        with self.sessions() as session:
            return list(session.scalars(select(IncidentRow).where(IncidentRow.state.in_(ACTIVE_STATES))
                                        .order_by(IncidentRow.id)))

    def suspected_incidents(self) -> list[IncidentRow]:
        """Clusters detection opened and nobody confirmed or dismissed yet, oldest first."""
        with self.sessions() as session:
            return list(session.scalars(select(IncidentRow).where(IncidentRow.state == State.SUSPECTED)
                                        .order_by(IncidentRow.id)))

    def suspected_for(self, ticket_id: int) -> tuple[IncidentRow, Cluster] | None:
        """The suspected incident whose cluster holds this ticket, else the newest one, with its cluster."""
        with self.sessions() as session:
            clusters = [(incident, cluster_of(session, incident)) for incident in reversed(self.suspected_incidents())]
        for incident, cluster in clusters:
            if any(row.ticket_id == ticket_id for row in cluster.sightings):
                return incident, cluster
        return clusters[0] if clusters else None

    def cluster(self, incident: IncidentRow) -> Cluster:
        with self.sessions() as session:
            return cluster_of(session, incident)

    def state_changes(self, incident_id: int) -> list[StateChangeRow]:
        with self.sessions() as session:
            return changes_of(session, incident_id)

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

    def incident_to_resolve(self, incident_id: int | None = None) -> IncidentRow:
        """The named incident, else the active one, else the last one (a rerun after the end says so).

        :raises StateError: none at all, or several active and none named.
        """
        if incident_id is not None or self.active_incidents():
            return self.incident(incident_id)
        latest = self.latest_incident()
        if latest is None:
            raise StateError("no incident to resolve")
        return latest

    def affected_count(self, incident_id: int) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(AffectedTicketRow)
                                  .where(AffectedTicketRow.incident_id == incident_id)) or 0

    def progress(self, incident_id: int) -> IncidentProgress:
        """Where the incident's take-ins and closing replies stand, from the store's ledgers."""
        progress = IncidentProgress()
        with self.sessions() as session:
            for ticket_id, state, detail in session.execute(select(
                    AffectedTicketRow.ticket_id, AffectedTicketRow.state, AffectedTicketRow.detail)
                    .where(AffectedTicketRow.incident_id == incident_id)):
                if state == "given_up":
                    progress.take_ins_given_up[ticket_id] = detail or "given up"
                elif state in ("taken", MERGED):
                    progress.taken += 1
                else:
                    progress.retrying += 1
            for ticket_id, state, detail in session.execute(select(
                    NotificationRow.ticket_id, NotificationRow.state, NotificationRow.detail)
                    .where(NotificationRow.incident_id == incident_id)):
                if state == "sent":
                    progress.notified += 1
                elif state == "callback":
                    progress.callbacks += 1
                elif state == "given_up":
                    progress.replies_given_up[ticket_id] = detail or "given up"
                else:
                    progress.pending += 1
        return progress

    # -- declare ---------------------------------------------------------------

    def latest_incident(self) -> IncidentRow | None:
        """The active incident, else the last resolved one (the sidebar shows either)."""
        with self.sessions() as session:
            return session.scalars(select(IncidentRow).where(IncidentRow.state.in_((*ACTIVE_STATES, State.RESOLVED)))
                                   .order_by((IncidentRow.state == State.RESOLVED).asc(), IncidentRow.id.desc())
                                   .limit(1)).first()

    def is_affected(self, incident_id: int, ticket_id: int) -> bool:
        with self.sessions() as session:
            return session.get(AffectedTicketRow, (incident_id, ticket_id)) is not None

    # -- declare ---------------------------------------------------------------

    def declare(self, spec: IncidentSpec, on_progress: Progress | None = None) -> DeclareReport:
        """Open the incident, create its problem ticket and take in every matching ticket since the start.

        Declaring again an incident already declared (same tag, title and query) finishes what an
        interrupted declare left, and takes in what has arrived since: the operator re-runs the same command.

        :raises StateError: another incident with the same tag is already active.
        :raises InputError: the query, the CR value or the referent does not fit the account.
        """
        same = self._same_declaration(spec)
        if same is not None:
            report = self.backfill(same, on_progress)
            report.resumed = True
            return report
        incident = self.open_incident(spec, claim_backfill=True)
        try:
            # What the writes need, checked before the first of them.
            protected = protected_tags(self.account, incident)
            for macro in self._acknowledgement_macros.values():
                macro.check_removals(protected)
            log.info("incident.acknowledging", extra={"languages": ",".join(sorted(self._acknowledgement_macros))})
            self._ensure_problem_ticket(incident)
        except Exception:
            # Nothing was written to Zendesk: free the tag so the admin can simply declare again.
            with self.sessions() as session:
                session.execute(delete(StateChangeRow).where(StateChangeRow.incident_id == incident.id))
                session.delete(session.get(IncidentRow, incident.id))
                session.commit()
            raise
        return self.backfill(incident, on_progress)

    def _same_declaration(self, spec: IncidentSpec) -> IncidentRow | None:
        """The same incident, already declared (perhaps by a process that died mid-way): ours to finish."""
        with self.sessions() as session:
            incident = session.scalars(select(IncidentRow).where(
                IncidentRow.tag == spec.tag, IncidentRow.state == State.DECLARED, IncidentRow.title == spec.title,
                IncidentRow.query == spec.query)).first()
            if incident is not None:
                incident.backfill_claimed_at = self.clock.now()
                session.commit()
            return incident

    def open_incident(self, spec: IncidentSpec, origin_ticket_id: int | None = None,
                      claim_backfill: bool = False, by: str | int = CLI,
                      then: Callable[[Session, IncidentRow], None] | None = None) -> IncidentRow:
        """Record a declared incident; no Zendesk call (the sidebar's request path uses this).

        With `claim_backfill` the caller runs the backfill itself; otherwise the worker will. `then` adds
        to the incident's transaction (a maintenance window records it there); raising, it rolls it back.

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
                session.flush()
                record_change(session, incident.id, None, State.DECLARED, by, self.clock.now())
                if then is not None:
                    then(session, incident)
                session.commit()
            except IntegrityError:
                raise StateError(f"an incident with tag {spec.tag!r} is already active") from None
        return incident

    def confirm(self, incident_id: int, spec: IncidentSpec, by: int) -> IncidentRow:
        """A person says the suspicion is an outage: it becomes a declared incident, which the worker
        backfills like one declared from the sidebar, the cluster's tickets included.

        :raises StateError: no such incident, it is no longer suspected, or the tag is already active.
        :raises InputError: the query cannot be parsed.
        """
        try:
            parse(spec.query)
        except QueryError as error:
            raise InputError(f"the search query cannot be used: {error}") from None
        with self.sessions() as session:
            try:
                confirmed = session.execute(update(IncidentRow).where(
                    IncidentRow.id == incident_id, IncidentRow.state == State.SUSPECTED).values(
                    state=State.DECLARED, title=spec.title, query=spec.query, severity=spec.severity, tag=spec.tag,
                    declared_at=self.clock.now())).rowcount
            except IntegrityError:
                raise StateError(f"an incident with tag {spec.tag!r} is already active") from None
            if not confirmed:
                raise StateError(self._not_suspected(session, incident_id))
            record_change(session, incident_id, State.SUSPECTED, State.DECLARED, by, self.clock.now())
            session.commit()
            log.info("incident.confirmed", extra={"incident": incident_id, "by": by})
            return session.get(IncidentRow, incident_id)

    def dismiss(self, incident_id: int, by: int) -> IncidentRow:
        """A person says the suspicion is no outage: detection stays quiet about its cluster for a window.

        :raises StateError: no such incident, or it is no longer suspected.
        """
        with self.sessions() as session:
            dismissed = session.execute(update(IncidentRow).where(
                IncidentRow.id == incident_id, IncidentRow.state == State.SUSPECTED).values(
                state=State.DISMISSED, ended_at=self.clock.now())).rowcount
            if not dismissed:
                raise StateError(self._not_suspected(session, incident_id))
            record_change(session, incident_id, State.SUSPECTED, State.DISMISSED, by, self.clock.now())
            session.commit()
            log.info("incident.dismissed", extra={"incident": incident_id, "by": by})
            return session.get(IncidentRow, incident_id)

    @staticmethod
    def _not_suspected(session: Session, incident_id: int) -> str:
        incident = session.get(IncidentRow, incident_id)
        if incident is None:
            return f"no incident #{incident_id}"
        return f"incident #{incident_id} is {incident.state}, not suspected"

    def _ensure_problem_ticket(self, incident: IncidentRow) -> None:
        if incident.problem_ticket_id:
            return
        body = f"{incident.title}\nStarted {incident.started_at.isoformat()}. Tickets matching: {incident.query}"
        # Names this incident of this store: a declare that died after the create finds its ticket.
        external_id = f"outage-desk-{incident.id}-{incident.declared_at:%Y%m%dT%H%M%S%f}"
        incident.problem_ticket_id = self.gateway.create_problem_ticket(
            f"[Outage] {incident.title}", body, PRIORITY_BY_LEVEL[incident.severity], external_id)
        with self.sessions() as session:
            session.execute(update(IncidentRow).where(IncidentRow.id == incident.id)
                            .values(problem_ticket_id=incident.problem_ticket_id))
            session.commit()

    def backfill(self, incident: IncidentRow, on_progress: Progress | None = None) -> DeclareReport:
        """Take in every matching ticket since the start (search export: past the 1,000 cap).

        One pipeline of bulk jobs carries every page: while Zendesk works through one page's jobs
        the next page is read. Each ticket gets one write (its acknowledgement or the note).
        """
        self._ensure_problem_ticket(incident)
        # Agents' updates to unsolved tickets matter only while an outage runs: Zendesk sends them then.
        set_update_trigger(self.gateway, active=True)
        problem_id = incident.problem_ticket_id
        report = DeclareReport(incident_id=incident.id, problem_ticket_id=problem_id)
        tally = TakeInTally()
        writer = self.gateway.bulk_writer(on_progress)
        # What a killed declare left submitted is re-read before anything else is written: whoever runs
        # the backfill has claimed the incident, so no other process is writing them.
        self.take_ins.settle(writer, incident, self.take_ins.due(incident, INLINE_RETRY_WINDOW, all_submitted=True),
                             tally)
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
            self.take_ins.queue(writer, incident, self._not_yet_in(incident, eligible), "backfill", tally)
        writer.finish()
        self._settle_soon(incident, tally)
        by_hand = self._belonging(incident)
        if by_hand:
            # The ticket the agent declared from, and a confirmed cluster's, belong in whatever the query says.
            taken, failed = self.attach(incident, by_hand)
            tally.taken += taken
            tally.retrying.update(failed)
        report.taken_in, report.acknowledged = tally.taken, tally.acknowledged
        report.retrying, report.given_up = tally.retrying, tally.given_up
        with self.sessions() as session:
            first_time = session.execute(update(IncidentRow).where(
                IncidentRow.id == incident.id, IncidentRow.backfilled_at.is_(None))
                .values(backfilled_at=self.clock.now())).rowcount
            session.commit()
        if first_time:
            self.alerts.send(f":red_circle: Outage declared: *{escape(incident.title)}*. {report.taken_in} tickets "
                             f"taken in and linked to problem ticket #{problem_id}; new ones follow as they arrive. "
                             "Agents: the script is in the Outage Desk sidebar.")
        return report

    def _belonging(self, incident: IncidentRow) -> list[int]:
        tickets = [incident.origin_ticket_id] if incident.origin_ticket_id else []
        if incident.subject_key:
            tickets += [row.ticket_id for row in self.cluster(incident).sightings]
        return tickets

    def _not_yet_in(self, incident: IncidentRow, tickets: list[Ticket]) -> list[Ticket]:
        with self.sessions() as session:
            already = set(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id,
                AffectedTicketRow.ticket_id.in_([t.id for t in tickets]))))
        return [t for t in tickets if t.id not in already]

    def _settle_soon(self, incident: IncidentRow, tally: TakeInTally) -> None:
        """Try again, beside the command, the take-ins that failed and are due within the window;
        conflicts are due at once. Later ones are left to the worker."""
        while due := self.take_ins.due(incident, within=INLINE_RETRY_WINDOW):
            with self.sessions() as session:
                first = session.scalar(select(func.min(AffectedTicketRow.retry_at)).where(
                    AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id.in_(due)))
            if first is not None and first > self.clock.now():
                self.clock.sleep((first - self.clock.now()).total_seconds())
            writer = self.gateway.bulk_writer()
            self.take_ins.settle(writer, incident, self.take_ins.due(incident), tally)
            writer.finish()

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
                found = self._not_yet_in(incident, [t for t in page if belongs_to(incident, query, t)])
                self.take_ins.queue(writer, incident, found, "sweep", tally)
                tally.swept.update(t.id for t in found)
        except ZendeskAuthError:
            log.warning("incident.no-sweep", extra={"reason": "the incremental export needs an admin's token", "why": (
                "tickets updated since the start are not swept in: Zendesk's incremental export needs "
                "an admin's API token")})

    def _take_in(self, incident: IncidentRow, tickets: list[Ticket], source: str) -> tuple[int, dict[int, str]]:
        """Take these tickets in now; returns how many were, and those that were not, with why."""
        tally = TakeInTally()
        writer = self.gateway.bulk_writer()
        self.take_ins.queue(writer, incident, self._not_yet_in(incident, tickets), source, tally)
        writer.finish()
        self._settle_soon(incident, tally)
        return tally.taken, {**tally.retrying, **tally.given_up}

    def no_acknowledgement_reason(self) -> str | None:
        """Why declare sends customers no acknowledgement, or None when it does."""
        if self.config.outage_desk_ack_macro.lower() == ACKNOWLEDGEMENT_OFF:
            return "acknowledgements are off (OUTAGE_DESK_ACK_MACRO=off)"
        if self.referent is None:
            return ("it goes out in the product referent's name, and none is set "
                    "(OUTAGE_DESK_REFERENT or --referent)")
        return None

    @cached_property
    def _acknowledgement_macros(self) -> dict[str, Macro]:
        if self.config.outage_desk_ack_macro.lower() == ACKNOWLEDGEMENT_OFF:
            return {}  # the team acknowledges some other way (its own trigger, by hand)
        if self.referent is None:
            log.warning("incident.no-acknowledgement", extra={"reason": "OUTAGE_DESK_REFERENT is not set",
                                                               "why": "no customer is sent an acknowledgement: "
                                                                      + self.no_acknowledgement_reason()})
            return {}
        return self.gateway.macros(self.config.outage_desk_ack_macro)

    def retry_take_ins(self) -> int:
        """The worker's pass over failed take-ins whose wait is over; returns how many it looked at."""
        looked = 0
        for incident in self.active_incidents():
            if incident.state != State.DECLARED or incident.backfilled_at is None:
                continue  # a running backfill settles its own; a resolving incident takes no one in
            due = self.take_ins.due(incident)
            if due:
                tally = TakeInTally()
                writer = self.gateway.bulk_writer()
                self.take_ins.settle(writer, incident, due, tally)
                writer.finish()
                looked += len(due)
        return looked

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
        """Take tickets out of a declared incident: untag, unlink, and note why — once, whatever reruns."""
        if incident.state != State.DECLARED:
            raise StateError(f"incident #{incident.id} is {incident.state}, not declared")
        wanted = [ticket_id for ticket_id in ticket_ids if self.is_affected(incident.id, ticket_id)]
        # The marker leaves with the note: a ticket without it was detached by a run that died after its write.
        current = {t.id: t for t in self.gateway.tickets(wanted)}
        items = [{"id": t.id, "remove_tags": [incident.tag, LIVE_TAG, taken_tag(incident.id)], "type": "question",
                  "comment": {"body": DETACH_NOTE.format(title=incident.title), "public": False},
                  "safe_update": True, "updated_stamp": t.updated_at}
                 for t in current.values() if taken_tag(incident.id) in t.tags]
        outcome = self.gateway.bulk_update(items)
        done = outcome.succeeded | {ticket_id for ticket_id in wanted if ticket_id not in {i["id"] for i in items}}
        with self.sessions() as session:
            for ticket_id in done:
                session.delete(session.get(AffectedTicketRow, (incident.id, ticket_id)))
            session.commit()
        log_failures("incident.detach-failed", incident.id, outcome.failed, "left in the incident")
        return len(done), outcome.failed

    # -- sidebar tasks ---------------------------------------------------------------

    def queue_task(self, kind: str, incident_id: int, ticket_id: int | None = None,
                   user_id: int | None = None) -> None:
        """Store work the worker will do; the sidebar's request path makes no Zendesk call."""
        with self.sessions() as session:
            session.add(TaskRow(kind=kind, incident_id=incident_id, ticket_id=ticket_id, user_id=user_id,
                                created_at=self.clock.now()))
            session.commit()

    def mark_resolving(self, incident_id: int, by_user: int | str) -> IncidentRow:
        """End the outage in the store at once: the incident is `resolving`, which is the worker's
        task to send the closing replies (no Zendesk call on the request path)."""
        with self.sessions() as session:
            # One conditional UPDATE: of two people (or the maintenance end and a person) at once, only one
            # ends it and only that one is recorded as having done so.
            ended = session.execute(update(IncidentRow).where(
                IncidentRow.id == incident_id, IncidentRow.state == State.DECLARED)
                .values(state=State.RESOLVING, ended_at=self.clock.now())).rowcount
            if ended:
                record_change(session, incident_id, State.DECLARED, State.RESOLVING, by_user, self.clock.now())
                log.info("incident.resolving", extra={"incident": incident_id, "by": by_user})
            session.commit()
            return session.get(IncidentRow, incident_id)

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
        """Expire quiet suspicions, act on the status page's events, finish declarations and resolves nobody is
        running, retry failed take-ins, change or restore the agent settings, mark and expire aftercare, and run
        the sidebar's queued tasks, oldest first; returns how many things it did."""
        expired = SuspicionExpiry(self.sessions, self.clock, self._detector.window).run()
        status_events = self.status_page.run_pending()  # first: what it declares is backfilled in this pass
        unfinished = self._claim_backfills()
        for incident in unfinished:
            self.backfill(incident)
        resolving = [i for i in self.active_incidents() if i.state == State.RESOLVING]
        for incident in resolving:
            self.resolve(incident, claim="if-free", by=WORKER)
        updates = self.interim.unfinished()
        for row in updates:
            self.interim.run(row, claim="if-free")
        retried = self.retry_take_ins()
        merges = self.duplicates.run()
        followed_up = self.reopened.run_pending()
        settings = self.agent_settings.run()
        aftercare = self.aftercare.run()
        with self.sessions() as session:
            tasks = list(session.scalars(select(TaskRow).where(TaskRow.done_at.is_(None)).order_by(TaskRow.id)))
        for task in tasks:
            incident = self.incident(task.incident_id)
            outcome = "done"
            try:
                if task.kind == "attach":
                    self.attach(incident, [task.ticket_id])
                elif task.kind == "detach":
                    self.detach(incident, [task.ticket_id])
                elif task.kind == "resolve":  # queued by an older release: resolving is the task now
                    self.mark_resolving(incident.id, by_user=task.user_id or 0)
                elif task.kind == "notify-mine":
                    self.resolve(incident, only_author=task.user_id, by=WORKER)
            except StateError as error:
                outcome = f"skipped: {error}"
            with self.sessions() as session:
                session.execute(update(TaskRow).where(TaskRow.id == task.id)
                                .values(done_at=self.clock.now(), outcome=outcome))
                session.commit()
        return (len(expired) + status_events + len(unfinished) + len(resolving) + len(updates) + bool(retried)
                + len(merges.merged) + len(merges.skipped) + followed_up + settings + aftercare + len(tasks))

    @cached_property
    def duplicates(self) -> Duplicates:
        """A customer's later tickets about a declared outage, merged into their first."""
        return Duplicates(self.sessions, self.gateway, self.clock)

    @cached_property
    def agent_settings(self) -> AgentSettings:
        """Chats per agent and wrap-up time for the outage: through the API where there is one, else the checklist."""
        return AgentSettings(self.config, self.sessions, self.gateway, self.clock, self.alerts)

    @cached_property
    def aftercare(self) -> Aftercare:
        """The customers an outage hurt, marked for some weeks: their new tickets raised one level."""
        return Aftercare(self.config, self.sessions, self.gateway, self.clock)

    @cached_property
    def redaction(self) -> CommentRedaction:
        """Secrets in customers' comments: redacted, and the customer told once."""
        return CommentRedaction(self.sessions, self.gateway, self.clock,
                                SecretFinder(self.config.outage_desk_api_key_pattern),
                                self.config.outage_desk_default_language)

    # -- scheduled maintenance -------------------------------------------------------

    @cached_property
    def maintenance(self) -> Maintenance:
        return Maintenance(self.sessions, self.clock, self.open_incident, self.mark_resolving)

    # -- interim updates -----------------------------------------------------------

    @property
    def interim(self) -> InterimUpdates:
        """A new one each time: a run holds its claim, as a resolve's Resolution does."""
        return InterimUpdates(self.config, self.sessions, self.gateway, self.clock, lambda: self.referent)

    def post_update(self, incident: IncidentRow, message: UpdateMessage, by_user: int | None = None,
                    force: bool = False) -> UpdateReport:
        """Store an interim update (or find the one this same message made) and send it now.

        :raises StateError: the incident is not declared, or had an update too recently (unless `force`).
        """
        if message.macro:
            # A macro we cannot send, or without the default language, is refused before the update is stored.
            closing_language(None, set(self.gateway.macros(message.macro)), self.config.outage_desk_default_language)
        return self.interim.run(self.interim.post(incident, message, by_user, force))

    @property
    def status_page(self) -> StatusPage:
        """The status page's webhooks, acted on through this desk's declare, confirm and resolve."""
        return StatusPage(self)

    @cached_property
    def voice(self) -> VoiceWatch:
        """The phone queue's thresholds and the lines' greetings (the worker polls it)."""
        return VoiceWatch(self.config, self.sessions, self.gateway, self.clock, self.alerts)

    # -- webhook intake ------------------------------------------------------------

    def take_in_pending(self, limit: int = 500) -> IntakeReport:
        """Process stored webhook events: take in new matching tickets, reopen solved ones."""
        return Intake(self.sessions, self.gateway, self.clock, self.active_incidents, self._take_in,
                      self._detector.observe, self.aftercare.take, self._sla_alerts.handle,
                      self.reopened.handle).take_in_pending(limit)

    @cached_property
    def _sla_alerts(self) -> SlaBreachAlerts:
        return SlaBreachAlerts(self.sessions, self.gateway, self.clock, self.alerts, self.sla_plans, self.ticket_url)

    def sla_plans(self) -> Plans:
        """The SLA plans' tags (read from the account when an organisation field names them)."""
        return read_plans(self.gateway, self.config)

    @cached_property
    def reopened(self) -> Reopened:
        """Tickets their customer reopened after the closing email: into a follow-up incident, or flagged."""
        return Reopened(self.sessions, self.gateway, self.clock, self.alerts, self._take_in, lambda: self.referent,
                        self.ticket_url)

    @cached_property
    def _detector(self) -> Detector:
        return Detector(self.sessions, self.clock, self.alerts, self.config.outage_desk_detect_threshold,
                        timedelta(minutes=self.config.outage_desk_detect_window_minutes), self.ticket_url)

    def ticket_url(self, ticket_id: int) -> str:
        """Where an agent opens the ticket (and its sidebar) in Zendesk."""
        return f"{self.config.zendesk_base_url}/agent/tickets/{ticket_id}"

    # -- report ------------------------------------------------------------------

    def report(self, incident: IncidentRow) -> IncidentReport:
        """The incident's report: its tickets as they are in Zendesk now, and the store's ledger."""
        with self.sessions() as session:
            affected = list(session.scalars(select(AffectedTicketRow)
                                            .where(AffectedTicketRow.incident_id == incident.id)))
            notifications = {row.ticket_id: row for row in session.scalars(
                select(NotificationRow).where(NotificationRow.incident_id == incident.id))}
            updates = list(session.scalars(select(UpdateRow.created_at).where(UpdateRow.incident_id == incident.id)
                                           .order_by(UpdateRow.created_at)))
        tickets = {t.id: t for t in affected_now(self.gateway, incident, [row.ticket_id for row in affected])}
        marks = self.aftercare.marks(incident.id)
        try:
            plans: Plans | None = self.sla_plans()
        except InputError:
            plans = None  # the plan field went away since setup: the rest of the report stands
        lines = ticket_lines(affected, notifications, tickets, plans, incident.ended_at or self.clock.now(), marks)
        return IncidentReport(incident, lines, self.state_changes(incident.id), marks,
                              reopened_after=self.reopened.reopened_after(incident.id), updates=updates)

    # -- resolve -----------------------------------------------------------------

    def resolve(self, incident: IncidentRow, dry_run: bool = False, on_progress: Progress | None = None,
                only_author: int | None = None, claim: str = "take", by: str | int = CLI) -> ResolveReport:
        """Send the closing macro to every affected ticket exactly once, then solve the problem.

        `claim="take"` (a person asked) takes the resolve over from whoever held it; "if-free" (the
        worker) leaves alone a resolve another process is running.
        """
        if incident.state in NEVER_DECLARED:
            raise StateError(f"incident #{incident.id} is {incident.state}: only a declared outage is resolved")
        resolution = Resolution(self.config, self.sessions, self.gateway, self.clock, lambda: self.referent, by)
        with self.sessions() as session:
            already_over = session.get(IncidentRow, incident.id).state == State.RESOLVED
        report = resolution.run(incident, dry_run, on_progress, only_author, claim=claim)
        if report.resolved and not already_over:
            if not any(i.state != State.RESOLVED for i in self.active_incidents()):
                set_update_trigger(self.gateway, active=False)
            self.alerts.send(f":white_check_mark: Outage resolved: *{escape(incident.title)}*. "
                             f"{sum(report.sent.values())} customers got the closing email; "
                             f"{len(report.callbacks)} without an email address are on the call-back list"
                             + (f"; {len(report.given_up)} could not be reached." if report.given_up else "."))
        return report
