"""Interim updates: one public reply per linked, unsolved ticket per update, exactly once, through its ledger.

The update is stored before anything is sent, and its plan (one row per ticket of the incident) in one
transaction after that. Each row is recorded `submitted` before its write, and the write carries the update's
marker tag and the ticket's `updated_at` (safe update), as the closing replies' do: after a crash a re-read
tells whether it landed, and of two writes racing for one ticket only the first applies. Whoever resumes —
the same command run again, or the worker once the claim of a dead process lapses — finds the work in the store.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.errors import InputError, StateError, TooSoon
from app.incident.model import UNSOLVED, State, closing_language
from app.incident.reply_ledger import ReplyLedger
from app.incident.resolve import CLAIM_TIMEOUT, affected_now
from app.incident.take_in import give_up_reason
from app.incident.update_message import UpdateMessage
from app.store.claims import Claim
from app.store.tables import AffectedTicketRow, IncidentRow, MaintenanceRow, UpdateReplyRow, UpdateRow
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket, User

log = logging.getLogger(__name__)


def update_tag(update_id: int) -> str:
    """The tag written in the same update as the reply: Zendesk's own record that it landed."""
    return f"outage_desk_update_{update_id}"


def must_be_declared(incident: IncidentRow) -> None:
    """:raises StateError: the incident is over or ending: its customers get the closing reply instead."""
    if incident.state != State.DECLARED:
        raise StateError(f"incident #{incident.id} is {incident.state}, not declared: no update to send")


@dataclass
class UpdateReport:
    incident_id: int | None  # None: a maintenance window's advance notice
    update_id: int | None = None  # None: a dry run
    created_at: datetime | None = None
    planned: Counter = field(default_factory=Counter)  # language -> replies to send
    sent: Counter = field(default_factory=Counter)  # language -> replies sent
    skipped: dict[int, str] = field(default_factory=dict)  # ticket id -> why it gets no reply
    given_up: dict[int, str] = field(default_factory=dict)
    pending: int = 0
    next_retry: datetime | None = None
    finished: bool = False
    claimed: bool = True  # False: another process is sending this update


class InterimUpdates:
    """Posts interim updates of a declared incident and sends each through its ledger."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway | None,
                 clock: Clock, referent: Callable[[], User | None]):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        # A callable, not a user: the desk looks its account objects up from Zendesk on first use only.
        self.referent = referent
        self._claim: Claim | None = None

    # -- posting -----------------------------------------------------------------

    def post(self, incident: IncidentRow, message: UpdateMessage, by_user: int | None, force: bool) -> UpdateRow:
        """Store the update, or find the one this same message already made (a rerun carries that one on).

        :raises StateError: the incident is not declared; TooSoon: it had an update within the interval
            (unless `force`), which is also what the later of two posts at the same moment gets.
        """
        must_be_declared(incident)
        texts, macro = message.stored()
        now = self.clock.now()
        interval = timedelta(minutes=self.config.outage_desk_update_interval_minutes)
        with self.sessions() as session:
            latest = session.scalars(select(UpdateRow).where(UpdateRow.incident_id == incident.id)
                                     .order_by(UpdateRow.id.desc()).limit(1)).first()
            if latest is not None and (latest.texts, latest.macro) == (texts, macro) \
                    and (latest.finished_at is None or latest.created_at > now - interval):
                # The same message again: a rerun after a crash, never a second copy to every customer.
                return latest
        with self.sessions() as session:
            # The interval is checked and taken in this one statement, the transaction's first (SQLite then
            # waits for the write lock before it reads; PostgreSQL re-checks the row a concurrent post
            # changed): of two posts at once, exactly one stores its update.
            free = true() if force else or_(IncidentRow.last_update_at.is_(None),
                                           IncidentRow.last_update_at <= now - interval)
            taken = session.execute(update(IncidentRow).where(
                IncidentRow.id == incident.id, IncidentRow.state == State.DECLARED, free)
                .values(last_update_at=now).execution_options(synchronize_session=False)).rowcount
            if not taken:
                session.rollback()
                current = session.get(IncidentRow, incident.id)
                must_be_declared(current)
                last = current.last_update_at
                raise TooSoon(f"incident #{incident.id} had an update at {last:%H:%M} UTC; the next one can go "
                              f"from {last + interval:%H:%M} UTC (or use --force)", next_allowed_at=last + interval)
            row = UpdateRow(incident_id=incident.id, texts=texts, macro=macro, created_by=by_user, created_at=now)
            session.add(row)
            session.commit()
            return row

    def post_notice(self, session: Session, window: MaintenanceRow, message: UpdateMessage,
                    by_user: int | None = None) -> UpdateRow:
        """Add a maintenance window's advance notice to the session that stores the window: no window is
        scheduled whose notice would be lost, and the worker sends what a dying command did not."""
        texts, macro = message.stored()
        row = UpdateRow(maintenance_id=window.id, texts=texts, macro=macro, created_by=by_user,
                        created_at=self.clock.now())
        session.add(row)
        return row

    def notice_of(self, window_id: int) -> UpdateReport | None:
        """Where a window's advance notice stands."""
        with self.sessions() as session:
            row = session.scalars(select(UpdateRow).where(UpdateRow.maintenance_id == window_id)).first()
        return self._report(row) if row is not None else None

    def latest(self, incident_id: int) -> UpdateReport | None:
        """Where the incident's last update stands, for `status`."""
        with self.sessions() as session:
            row = session.scalars(select(UpdateRow).where(UpdateRow.incident_id == incident_id)
                                  .order_by(UpdateRow.id.desc()).limit(1)).first()
        return self._report(row) if row is not None else None

    def next_allowed_at(self, incident_id: int) -> datetime | None:
        """When the incident's next update may go, if its last one is within the interval; else None."""
        with self.sessions() as session:
            latest = session.scalar(select(UpdateRow.created_at).where(UpdateRow.incident_id == incident_id)
                                    .order_by(UpdateRow.id.desc()).limit(1))
        allowed = latest + timedelta(minutes=self.config.outage_desk_update_interval_minutes) if latest else None
        return allowed if allowed and allowed > self.clock.now() else None

    def unfinished(self) -> list[UpdateRow]:
        with self.sessions() as session:
            return list(session.scalars(select(UpdateRow).where(UpdateRow.finished_at.is_(None))
                                        .order_by(UpdateRow.id)))

    # -- sending -----------------------------------------------------------------

    def preview(self, incident: IncidentRow, message: UpdateMessage) -> UpdateReport:
        """What an update would send, per language, and whom it would skip: nothing is written.

        :raises StateError: the incident is not declared.
        """
        must_be_declared(incident)
        report = UpdateReport(incident_id=incident.id)
        for row in self._plan(UpdateRow(id=0, incident_id=incident.id, texts=message.stored()[0],
                                        macro=message.macro)):
            if row.state == "planned":
                report.planned[row.language] += 1
            else:
                report.skipped[row.ticket_id] = row.detail or row.state
        return report

    def run(self, row: UpdateRow, claim: str = "take") -> UpdateReport:
        """Send what is due, re-read what may have landed, and finish once every reply is settled.

        `claim="if-free"` (the worker) does nothing while another process holds the update.
        """
        self.config.require("outage_desk_referent")
        self._claim = Claim(self.sessions, self.clock, UpdateRow.id, row.id, UpdateRow.claimed_at, CLAIM_TIMEOUT)
        if not self._claim.take(steal=claim == "take"):
            return UpdateReport(incident_id=row.incident_id, update_id=row.id, claimed=False)
        try:
            # As the store has it now, not as the caller read it: whoever held the claim before may have planned.
            with self.sessions() as session:
                row = session.get(UpdateRow, row.id)
                incident = session.get(IncidentRow, row.incident_id) if row.incident_id is not None else None
            # Not planned before the incident ended: nothing will be, the closing reply says the rest.
            # A maintenance window's advance notice has no incident yet.
            if incident is None or incident.state == State.DECLARED or row.planned_at is not None:
                try:
                    self._work(row, wait=claim == "take")
                except InputError as error:
                    if row.planned_at is not None:
                        raise
                    # Its macro is gone or cannot be sent (the sidebar stores a title unchecked): nobody got
                    # anything, and no rerun would do better.
                    log.warning("update.refused", extra={"incident": row.incident_id, "update": row.id,
                                                         "reason": str(error)})
            report = self._report(row)
            if not report.pending and not report.finished:
                self._finish(row)
                report.finished = True
            return report
        finally:
            self._claim.release()

    def _work(self, row: UpdateRow, wait: bool) -> None:
        replies = self._replies(row)
        if row.planned_at is None:
            plan = self._plan(row, replies)
            with self.sessions() as session:
                session.add_all(plan)
                # In the plan's transaction: a crash before it plans again, after it never.
                session.execute(update(UpdateRow).where(UpdateRow.id == row.id).values(planned_at=self.clock.now()))
                session.commit()
            row.planned_at = self.clock.now()
        UpdateReplies(self.sessions, self.gateway, self.clock, self._claim, row, replies).send_all(wait)

    def _replies(self, row: UpdateRow) -> dict[str, dict]:
        """The comment for each language: the stored texts, or the macro family's replies as Zendesk has them now."""
        if row.texts:
            return {language: {"body": text} for language, text in json.loads(row.texts).items()}
        macros = self.gateway.macros(row.macro)
        return {language: ({"html_body": macro.html_body} if macro.html_body is not None else {"body": macro.body})
                for language, macro in macros.items()}

    def _plan(self, row: UpdateRow, replies: dict[str, dict] | None = None) -> list[UpdateReplyRow]:
        """One row per ticket of its audience: planned with its language, or skipped with the reason."""
        replies = self._replies(row) if replies is None else replies
        now = self.clock.now()

        def skipped(ticket_id: int, reason: str) -> UpdateReplyRow:
            return UpdateReplyRow(update_id=row.id, ticket_id=ticket_id, language="", state="skipped",
                                  detail=reason, updated_at=now, attempts=0)

        plan, tickets = self._audience(row, skipped)
        for ticket in tickets:
            requester = ticket.requester
            if ticket.status not in UNSOLVED:
                plan.append(skipped(ticket.id, f"{ticket.status}: the update is for customers still waiting"))
            elif requester is None or not requester.email:
                plan.append(skipped(ticket.id, "no email address: the requester gets no written update"))
            else:
                language = closing_language(requester.locale, set(replies), self.config.outage_desk_default_language)
                plan.append(UpdateReplyRow(
                    update_id=row.id, ticket_id=ticket.id, language=language, state="planned",
                    author_id=ticket.assignee_id or self.referent().id, updated_stamp=ticket.updated_at,
                    updated_at=now, attempts=0))
        return plan

    def _audience(self, row: UpdateRow, skipped: Callable[[int, str], UpdateReplyRow],
                  ) -> tuple[list[UpdateReplyRow], list[Ticket]]:
        """Who the update is for: the tickets the incident took in (those it did not, skipped with why); for
        a maintenance window's advance notice, no ticket is linked yet: the open tickets of its query."""
        with self.sessions() as session:
            if row.maintenance_id is not None:
                window = session.get(MaintenanceRow, row.maintenance_id)
                return [], [t for page in self.gateway.export_tickets(f"{window.query} status<solved") for t in page]
            incident = session.get(IncidentRow, row.incident_id)
            affected = {a.ticket_id: a for a in session.scalars(select(AffectedTicketRow).where(
                AffectedTicketRow.incident_id == incident.id))}
        plan = [skipped(t, f"not taken in: {a.detail or a.state}") for t, a in affected.items() if a.state != "taken"]
        linked = [t for t, a in affected.items() if a.state == "taken"]
        tickets = list(affected_now(self.gateway, incident, linked))
        found = {t.id for t in tickets}
        # Deleted since it was taken in: no ticket to read, none to write to.
        plan += [skipped(t, give_up_reason(None, 0, None)) for t in linked if t not in found]
        return plan, tickets

    def _report(self, row: UpdateRow) -> UpdateReport:
        report = UpdateReport(incident_id=row.incident_id, update_id=row.id, created_at=row.created_at)
        with self.sessions() as session:
            report.finished = session.get(UpdateRow, row.id).finished_at is not None
            for reply in session.scalars(select(UpdateReplyRow).where(UpdateReplyRow.update_id == row.id)):
                if reply.state != "skipped":
                    report.planned[reply.language] += 1
                if reply.state == "sent":
                    report.sent[reply.language] += 1
                elif reply.state == "skipped":
                    report.skipped[reply.ticket_id] = reply.detail or "skipped"
                elif reply.state == "given_up":
                    report.given_up[reply.ticket_id] = reply.detail or "given up"
                else:
                    report.pending += 1
                    if reply.state == "retry" and reply.retry_at and (report.next_retry is None
                                                                      or reply.retry_at < report.next_retry):
                        report.next_retry = reply.retry_at
        return report

    def _finish(self, row: UpdateRow) -> None:
        with self.sessions() as session:
            session.execute(update(UpdateRow).where(UpdateRow.id == row.id).values(finished_at=self.clock.now()))
            session.commit()


class UpdateReplies(ReplyLedger):
    """One update's rows: its text (or macro reply) in each requester's language, as a public reply."""

    event = "update.reply"

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock, claim: Claim,
                 row: UpdateRow, replies: dict[str, dict]):
        super().__init__(sessions, gateway, clock, claim, UpdateReplyRow.update_id, row.id, row.incident_id)
        self.marks = frozenset({update_tag(row.id)})
        self.update_id = row.id
        self.replies = replies

    def item(self, row: UpdateReplyRow) -> dict:
        return {"id": row.ticket_id, "safe_update": True, "updated_stamp": row.updated_stamp,
                "comment": {**self.replies[row.language], "public": True, "author_id": row.author_id},
                "additional_tags": [update_tag(self.update_id)]}

    def settled_by(self, row: UpdateReplyRow, ticket: Ticket) -> tuple[str, str] | None:
        if ticket.status == "solved":
            return "skipped", "solved: the update is for customers still waiting"
        return None
