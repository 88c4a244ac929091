"""Resolve an outage: the closing ledger that gives each affected ticket its closing reply exactly once.

The incident stays `resolving` until every planned notification is settled — sent, on the call-back
list, or given up with a stated reason — and only then is the problem ticket solved. Each row is
recorded `submitted` before its write, and the write carries a marker tag and the ticket's
`updated_at` (safe update): after a crash a re-read tells whether it landed, and of two writes racing
for one ticket only the first applies. Whoever resumes — the operator re-running `resolve`, or the
worker once the claim of a dead process lapses — finds the work in the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.incident.history import CLI, record_change
from app.incident.model import Audience, State, audience_of, closing_language
from app.incident.reply_ledger import ReplyLedger
from app.incident.take_in import LIVE_TAG, log_failures
from app.store.claims import Claim
from app.store.tables import AffectedTicketRow, IncidentRow, NotificationRow
from app.zendesk.gateway import ZendeskGateway, chunks
from app.zendesk.model import Macro, Ticket, User

CALLBACK_NOTE = ("Outage resolved. This requester has no email address, so no closing email could be sent: "
                 "please call them back on {phone}.")
PROBLEM_SOLVED_NOTE = "Outage resolved by Outage Desk: {sent} customers notified, {callback} on the callback list."
# How many times the problem's solve is re-read and sent again after a safe-update conflict.
MAX_CONFLICT_RETRIES = 3
# A resolve whose process stopped renewing its claim this long ago is taken over by the worker.
CLAIM_TIMEOUT = timedelta(seconds=60)
PENDING = ("planned", "submitted", "retry")
DONE = {"email": "sent", "callback": "callback"}


@dataclass
class ResolveReport:
    incident_id: int
    planned: Counter = field(default_factory=Counter)  # audience -> tickets to email
    sent: Counter = field(default_factory=Counter)
    given_up: dict[int, str] = field(default_factory=dict)  # ticket id -> why it cannot be notified
    callbacks: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, phone)
    pending: int = 0  # planned, in flight or waiting to be retried
    next_retry: datetime | None = None
    problem_solved: bool = False
    resolved: bool = False
    claimed: bool = True  # False: another process is running this resolve


class Resolution:
    """Plans, sends and reconciles the closing replies of one incident through its ledger."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 referent: Callable[[], User | None], by: str | int = CLI):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        # A callable, not a user: the desk looks its account objects up from Zendesk on first use only.
        self.referent = referent
        self.by = by  # who the state changes are recorded as caused by
        self._claim: Claim | None = None

    def run(self, incident: IncidentRow, dry_run: bool = False,
            on_progress: Callable[[int], None] | None = None, only_author: int | None = None,
            claim: str = "take") -> ResolveReport:
        """Send what is due, re-read what may have landed, and finish once everything is settled.

        Safe to run again after a crash or a failure, by anyone: the ledger says what is left.
        `only_author` sends just the replies that agent writes (the sidebar's "notify my tickets").
        `claim="if-free"` (the worker) does nothing while another process holds the resolve.
        """
        self.config.require("outage_desk_referent")
        if dry_run:
            return self._plan_report(incident, self._plan(incident, self._macros(incident)))
        self._claim = Claim(self.sessions, self.clock, IncidentRow.id, incident.id,
                            IncidentRow.resolve_claimed_at, CLAIM_TIMEOUT)
        if not self._claim.take(steal=claim == "take"):
            return ResolveReport(incident_id=incident.id, claimed=False)
        try:
            self._start(incident)
            if claim == "take" or self._has_work(incident):
                self._work(incident, on_progress, only_author, wait=claim == "take")
            report = self._ledger_report(incident)
            if not report.pending and not report.resolved and not self._unplanned(incident):
                self._finish(incident, report)
            return report
        finally:
            self._claim.release()

    # -- the work --------------------------------------------------------------------

    def _start(self, incident: IncidentRow) -> None:
        """Declared -> resolving: from here nothing is taken in, and the ledger is the task."""
        with self.sessions() as session:
            started = session.execute(update(IncidentRow).where(IncidentRow.id == incident.id,
                                                                IncidentRow.state == State.DECLARED)
                                      .values(state=State.RESOLVING, ended_at=self.clock.now())).rowcount
            if started:
                record_change(session, incident.id, State.DECLARED, State.RESOLVING, self.by, self.clock.now())
            session.commit()
            incident.state = session.get(IncidentRow, incident.id).state

    def _has_work(self, incident: IncidentRow) -> bool:
        """Whether a pass would do anything: a plan to make, rows due, or a finish to make."""
        with self.sessions() as session:
            due = session.scalar(select(func.count()).select_from(NotificationRow).where(
                NotificationRow.incident_id == incident.id,
                or_(NotificationRow.state.in_(("planned", "submitted")),
                    (NotificationRow.state == "retry") & (NotificationRow.retry_at <= self.clock.now()))))
        return bool(due) or bool(self._unplanned(incident))

    def _macros(self, incident: IncidentRow) -> dict[str, Macro]:
        """The closing macros, refused up front if one could not be sent (an empty reply, set_tags …)."""
        return self.gateway.macros(self.config.outage_desk_closing_macro, protected_tags={incident.tag})

    def _work(self, incident: IncidentRow, on_progress: Callable[[int], None] | None, only_author: int | None,
              wait: bool) -> None:
        macros = self._macros(incident)
        # Every run plans what is not planned yet: a take-in that committed after an earlier plan too.
        unplanned = self._unplanned(incident)
        if unplanned:
            with self.sessions() as session:
                session.add_all(self._plan(incident, macros, unplanned))
                session.commit()
        mine = () if only_author is None else (NotificationRow.author_id == only_author,
                                               NotificationRow.audience == Audience.ASSIGNED)
        ledger = ClosingReplies(self.sessions, self.gateway, self.clock, self._claim, incident, macros,
                                self.referent().id)
        ledger.send_all(wait, where=mine, on_progress=on_progress)

    def _unplanned(self, incident: IncidentRow) -> list[int]:
        """The incident's tickets (but those it gave up taking in, and those merged into the same customer's first
        ticket, which gets their one closing email) with no row in the closing ledger."""
        planned = select(NotificationRow.ticket_id).where(NotificationRow.incident_id == incident.id)
        with self.sessions() as session:
            return list(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.state.not_in(("given_up", "merged")),
                AffectedTicketRow.ticket_id.not_in(planned))))

    def _plan(self, incident: IncidentRow, macros: dict[str, Macro], ids: list[int] | None = None,
              ) -> list[NotificationRow]:
        ids = self._unplanned(incident) if ids is None else ids
        referent = self.referent()
        now = self.clock.now()
        rows = []
        for ticket in affected_now(self.gateway, incident, ids):
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
                kind="callback" if no_email else "email", state="planned", author_id=author,
                phone=(requester.phone or requester.name) if requester and no_email else None,
                updated_stamp=ticket.updated_at, updated_at=now, attempts=0))
        return rows

    @staticmethod
    def _plan_report(incident: IncidentRow, rows: list[NotificationRow]) -> ResolveReport:
        report = ResolveReport(incident_id=incident.id)
        for row in rows:
            if row.kind == "callback":
                report.callbacks.append((row.ticket_id, row.phone or ""))
            else:
                report.planned[row.audience] += 1
        return report

    def _ledger_report(self, incident: IncidentRow) -> ResolveReport:
        report = ResolveReport(incident_id=incident.id)
        with self.sessions() as session:
            current = session.get(IncidentRow, incident.id)
            report.resolved = current.state == State.RESOLVED
            report.problem_solved = current.problem_solved_at is not None
            for row in session.scalars(select(NotificationRow).where(NotificationRow.incident_id == incident.id)):
                if row.kind == "email":
                    report.planned[row.audience] += 1
                if row.state == "callback":
                    report.callbacks.append((row.ticket_id, row.phone or ""))
                elif row.state == "sent":
                    report.sent[row.audience] += 1
                elif row.state == "given_up":
                    report.given_up[row.ticket_id] = row.detail or "given up"
                else:
                    report.pending += 1
                    if row.state == "retry" and row.retry_at and (report.next_retry is None
                                                                  or row.retry_at < report.next_retry):
                        report.next_retry = row.retry_at
        return report

    # -- the end -------------------------------------------------------------------------

    def _finish(self, incident: IncidentRow, report: ResolveReport) -> None:
        """Every notification settled: solve the problem (its cascade now reaches only tickets that had
        their reply), then the incident is resolved."""
        if incident.problem_ticket_id and not report.problem_solved:
            if not self._solve_problem(incident, report):
                return
            report.problem_solved = True
        with self.sessions() as session:
            ended = session.execute(update(IncidentRow).where(IncidentRow.id == incident.id,
                                                              IncidentRow.state != State.RESOLVED)
                                    .values(state=State.RESOLVED)).rowcount
            if ended:
                record_change(session, incident.id, State.RESOLVING, State.RESOLVED, self.by, self.clock.now())
            session.commit()
        report.resolved = True

    def _solve_problem(self, incident: IncidentRow, report: ResolveReport) -> bool:
        """Solve the problem ticket with its note, unless that landed already; whether it is solved now.

        The write carries a marker tag and the problem's updated_at as just read (safe update): a rerun
        after a crash finds the tag if the killed run's write landed, and if that write is still queued,
        of it and the rerun's only the first to run applies; the other conflicts and re-reads.
        """
        problem_id, referent_id = incident.problem_ticket_id, self.referent().id
        note = PROBLEM_SOLVED_NOTE.format(sent=sum(report.sent.values()), callback=len(report.callbacks))
        for _attempt in range(MAX_CONFLICT_RETRIES + 1):
            found = self.gateway.tickets([problem_id])
            if not found:
                return self._record_solved(incident)  # deleted by an admin: nothing to solve
            problem = found[0]
            # Solved by a write of ours (its tag says so) or by an agent: nothing more to write.
            if problem_solved_tag(incident.id) in problem.tags or problem.status in ("solved", "closed"):
                return self._record_solved(incident)
            # Solving a problem solves its linked incidents and copies its comment to them: the
            # comment stays private so no customer gets a second email.
            outcome = self.gateway.bulk_update([{
                "id": problem_id, "safe_update": True, "updated_stamp": problem.updated_at,
                "status": "solved", "assignee_id": referent_id,
                "comment": {"body": note, "public": False, "author_id": referent_id},
                "additional_tags": [problem_solved_tag(incident.id)]}])
            if problem_id in outcome.succeeded:
                return self._record_solved(incident)
            if not outcome.failed.get(problem_id, "").startswith("UpdateConflict"):
                log_failures("resolve.problem-not-solved", incident.id, outcome.failed, "retried")
                return False
        return False

    def _record_solved(self, incident: IncidentRow) -> bool:
        # Recorded once the solve is known to have landed: a rerun after that asks Zendesk nothing.
        with self.sessions() as session:
            session.execute(update(IncidentRow).where(IncidentRow.id == incident.id)
                            .values(problem_solved_at=self.clock.now()))
            session.commit()
        return True


class ClosingReplies(ReplyLedger):
    """The closing ledger's rows of one incident: the closing macro's reply, or the call-back note."""

    event = "resolve.reply"

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock, claim: Claim,
                 incident: IncidentRow, macros: dict[str, Macro], referent_id: int):
        super().__init__(sessions, gateway, clock, claim, NotificationRow.incident_id, incident.id, incident.id)
        self.marks = frozenset({closing_tag(incident.id), callback_tag(incident.id)})
        self.macros = macros
        self.referent_id = referent_id

    def done_state(self, row: NotificationRow) -> str:
        return DONE[row.kind]

    def item(self, row: NotificationRow) -> dict:
        """One write: the reply (or the call-back note), its marker, the live tag gone, safe update."""
        item: dict = {"id": row.ticket_id, "safe_update": True, "updated_stamp": row.updated_stamp,
                      "remove_tags": [LIVE_TAG]}
        if row.audience != Audience.ASSIGNED:
            item["assignee_id"] = self.referent_id
        if row.kind == "callback":
            # The customer is still to be told: the ticket stays open with whoever calls, out of the
            # problem's cascade (a task, no longer its incident), until an agent closes it.
            return {**item, "comment": {"body": CALLBACK_NOTE.format(phone=row.phone or "unknown"), "public": False,
                                        "author_id": self.referent_id},
                    "additional_tags": [callback_tag(row.incident_id)], "type": "task", "status": "open"}
        # The fixed tag says, for any later outage, that this ticket had its reply.
        item["additional_tags"] = [closing_tag(row.incident_id), CLOSED_TAG]
        # The macro as Zendesk would apply it (its reply, status, tags, fields); our markers win.
        return self.macros[row.language].apply_to(item, row.author_id)


def affected_now(gateway: ZendeskGateway, incident: IncidentRow, ids: Iterable[int]) -> Iterator[Ticket]:
    """The affected tickets as they are now, requesters attached, streamed.

    One search-export page holds 1,000 tickets where show_many holds 100; the few the index
    has not caught up with yet are read by id. A stale `updated_at` only costs a safe-update
    conflict, which re-reads that ticket.
    """
    wanted = set(ids)
    since = incident.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    for page in gateway.export_tickets(f"tags:{incident.tag} created>={since}"):
        for ticket in page:
            if ticket.id in wanted:
                wanted.discard(ticket.id)
                yield ticket
    for batch in chunks(sorted(wanted), 1000):
        yield from gateway.tickets(batch)


CLOSED_TAG = "outage_desk_closed"


def closing_tag(incident_id: int) -> str:
    """The tag written in the same update as the closing reply: Zendesk's own record of it."""
    return f"outage_desk_closed_{incident_id}"


def callback_tag(incident_id: int) -> str:
    """The tag on tickets whose requester must be called back instead."""
    return f"outage_desk_callback_{incident_id}"


def problem_solved_tag(incident_id: int) -> str:
    """The tag written in the same update as the problem ticket's resolution note."""
    return f"outage_desk_problem_solved_{incident_id}"
