"""Resolve an outage: the closing ledger that sends each affected ticket its closing reply exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.incident.model import Audience, State, audience_of, closing_language
from app.store.tables import AffectedTicketRow, IncidentRow, NotificationRow
from app.zendesk.gateway import ZendeskGateway, chunks
from app.zendesk.model import Macro, Ticket, User

CALLBACK_NOTE = ("Outage resolved. This requester has no email address, so no closing email could be sent: "
                 "please call them back on {phone}.")
PROBLEM_SOLVED_NOTE = "Outage resolved by Outage Desk: {sent} customers notified, {callback} on the callback list."
# How many times a closing write, or the problem's solve, is re-planned after a safe-update
# conflict (someone else touched the ticket between our read and our write).
MAX_CONFLICT_RETRIES = 3


@dataclass
class ResolveReport:
    incident_id: int
    planned: Counter = field(default_factory=Counter)  # audience -> tickets to email
    sent: Counter = field(default_factory=Counter)
    failed: dict[int, str] = field(default_factory=dict)
    callbacks: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, phone)
    pending: int = 0  # planned or in flight: not yet known to have landed
    problem_solved: bool = False


class Resolution:
    """Plans, sends and reconciles the closing replies of one incident through its ledger."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 referent: Callable[[], User | None]):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        # A callable, not a user: the desk looks its account objects up from Zendesk on first use only.
        self.referent = referent

    def run(self, incident: IncidentRow, dry_run: bool = False,
            on_progress: Callable[[int], None] | None = None, only_author: int | None = None) -> ResolveReport:
        """Send the closing macro to every affected ticket exactly once, then solve the problem.

        Safe to run again after a crash or a failure: the ledger says what is left.
        `only_author` sends just the replies that agent writes (the sidebar's "notify my tickets").
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
        self._send_planned(incident, macros, on_progress, only_author)
        report = self._ledger_report(incident)
        # Only once every reply has landed: the problem's solve would otherwise close the rest unnotified.
        if not report.failed and not report.pending and incident.problem_ticket_id:
            self._solve_problem(incident, report)
        return report

    def _plan(self, incident: IncidentRow, macros: dict[str, Macro]) -> list[NotificationRow]:
        with self.sessions() as session:
            ids = list(session.scalars(select(AffectedTicketRow.ticket_id)
                                       .where(AffectedTicketRow.incident_id == incident.id)))
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
        referent_id = self.referent().id
        item: dict = {"id": row.ticket_id, "safe_update": True, "updated_stamp": row.updated_stamp}
        if row.state == "callback-planned":
            item["comment"] = {"body": CALLBACK_NOTE.format(phone=row.phone or "unknown"), "public": False,
                               "author_id": referent_id}
            item["additional_tags"] = [callback_tag(row.incident_id)]
        else:
            item["comment"] = {"body": macro.comment, "public": macro.public, "author_id": row.author_id}
            # The fixed tag keeps the "keep outage tickets open" trigger from reopening this reply.
            item["additional_tags"] = [closing_tag(row.incident_id), CLOSED_TAG]
            if macro.status:
                item["status"] = macro.status
        if row.audience != Audience.ASSIGNED:
            item["assignee_id"] = referent_id
        return item

    def _send_planned(self, incident: IncidentRow, macros: dict[str, Macro],
                      on_progress: Callable[[int], None] | None, only_author: int | None) -> None:
        for _attempt in range(MAX_CONFLICT_RETRIES + 1):
            query = select(NotificationRow).where(NotificationRow.incident_id == incident.id,
                                                  NotificationRow.state.in_(("planned", "callback-planned")))
            if only_author is not None:
                query = query.where(NotificationRow.author_id == only_author,
                                    NotificationRow.audience == Audience.ASSIGNED)
            with self.sessions() as session:
                rows = list(session.scalars(query))
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
                else:
                    report.pending += 1
                if row.state != "callback-planned":
                    report.planned[row.audience] += 1
        return report

    def _solve_problem(self, incident: IncidentRow, report: ResolveReport) -> None:
        with self.sessions() as session:
            solved_at = session.get(IncidentRow, incident.id).problem_solved_at
        # Recorded once the solve is known to have landed: a rerun after that asks Zendesk nothing.
        if solved_at is None:
            if not self._write_problem_solve(incident, report):
                return
            with self.sessions() as session:
                session.get(IncidentRow, incident.id).problem_solved_at = self.clock.now()
                session.commit()
        report.problem_solved = True

    def _write_problem_solve(self, incident: IncidentRow, report: ResolveReport) -> bool:
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
                return False
            problem = found[0]
            # Solved by a write of ours (its tag says so) or by an agent: nothing more to write.
            if problem_solved_tag(incident.id) in problem.tags or problem.status in ("solved", "closed"):
                return True
            # Solving a problem solves its linked incidents and copies its comment to them: the
            # comment stays private so no customer gets a second email.
            outcome = self.gateway.bulk_update([{
                "id": problem_id, "safe_update": True, "updated_stamp": problem.updated_at,
                "status": "solved", "assignee_id": referent_id,
                "comment": {"body": note, "public": False, "author_id": referent_id},
                "additional_tags": [problem_solved_tag(incident.id)]}])
            if problem_id in outcome.succeeded:
                return True
            if not outcome.failed.get(problem_id, "").startswith("UpdateConflict"):
                return False
        return False


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
