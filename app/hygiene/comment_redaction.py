"""Secrets posted in tickets: each customer comment holding one is redacted, and its author told, exactly once.

Two passes of the worker. The scan reads the tickets of new webhook deliveries (a new ticket, a customer's
comment: the inbox's rows, read a second time) and records each comment holding a secret in the ledger,
before it marks the deliveries read: a crash in between only scans again, and the ledger's key (the comment
id) keeps one row. The ledger then settles each row from what Zendesk shows:

- the secrets still in the comment are redacted (Redact String in Comment; redacting again finds nothing
  left, so a redaction cut short is simply repeated);
- the note is one safe update carrying a marker tag for the comment, sent with the ticket's `updated_at`:
  after a crash the tag says it landed, and a copy of the write sent twice conflicts instead of landing.

The secret itself is never stored, logged or echoed: the comment is its only copy until Zendesk redacts it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.errors import ZendeskError, ZendeskHttpError
from app.hygiene.secret_finder import SecretFinder
from app.hygiene.secret_notes import note_language, redaction_note
from app.incident.take_in import MAX_ATTEMPTS, retry_wait
from app.store.tables import CommentRedactionRow, InboxRow
from app.store.writes import insert_ignoring_duplicates
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Comment, Ticket

log = logging.getLogger(__name__)

SCANNED_EVENTS = frozenset({"ticket.created", "comment.added"})
OPEN_STATES = ("planned", "redacted", "noting", "retry")
SCAN_BATCH = 200
CLOSED = "closed: Zendesk cannot redact a closed ticket's comments"


def note_tag(comment_id: int) -> str:
    """The tag written with the note: Zendesk's own record that this comment's note landed."""
    return f"outage_desk_secret_note_{comment_id}"


@dataclass
class RedactionReport:
    scanned: int = 0  # tickets read
    found: int = 0  # comments newly recorded as holding a secret
    redacted: int = 0
    noted: int = 0
    given_up: dict[int, str] = field(default_factory=dict)  # comment id -> why


class CommentRedaction:
    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 finder: SecretFinder, default_language: str):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.finder = finder
        self.default_language = default_language

    def run(self) -> RedactionReport:
        """Scan what arrived, then settle every open row that is due."""
        report = RedactionReport()
        self.scan(report)
        self.settle(report)
        return report

    # -- scan ----------------------------------------------------------------

    def scan(self, report: RedactionReport) -> None:
        with self.sessions() as session:
            events = list(session.scalars(select(InboxRow).where(InboxRow.secrets_checked_at.is_(None))
                                          .order_by(InboxRow.id).limit(SCAN_BATCH)))
        if not events:
            return
        ticket_ids = {e.ticket_id for e in events if e.event in SCANNED_EVENTS}
        commented = {e.ticket_id for e in events if e.event == "comment.added"}
        rows = []
        for ticket in self.gateway.tickets(ticket_ids) if ticket_ids else []:
            report.scanned += 1
            if ticket.id not in commented and not self.finder.find(ticket.description):
                # A new ticket's one comment is its description, already read: an outage's thousands of new
                # tickets cost no List Comments call each, only those holding a secret.
                continue
            for comment in self._customer_comments(ticket):
                secrets = self.finder.find(comment.text)
                if secrets:
                    rows.append({"comment_id": comment.id, "ticket_id": ticket.id,
                                 "kinds": ",".join(sorted({s.kind for s in secrets})),
                                 "shown": "\n".join(dict.fromkeys(s.shown(comment.text) for s in secrets
                                                                  if s.keep_start or s.keep_end)),
                                 "state": "planned", "created_at": self.clock.now(), "updated_at": self.clock.now()})
        with self.sessions() as session:
            with session.begin():
                known = set(session.scalars(select(CommentRedactionRow.comment_id).where(
                    CommentRedactionRow.comment_id.in_([r["comment_id"] for r in rows])))) if rows else set()
                insert_ignoring_duplicates(session, CommentRedactionRow, rows)
                session.execute(update(InboxRow).where(InboxRow.id.in_([e.id for e in events]))
                                .values(secrets_checked_at=self.clock.now()))
        report.found += len({r["comment_id"] for r in rows} - known)

    def _customer_comments(self, ticket: Ticket) -> list[Comment]:
        """The requester's public comments: an agent's own notes are not the customer's to be told about."""
        try:
            comments = self.gateway.comments(ticket.id)
        except ZendeskHttpError as error:
            # Deleted since the delivery, or not ours to read: nothing to redact there.
            log.info("redaction.scan-skipped", extra={"ticket": ticket.id, "status": error.status})
            return []
        return [c for c in comments if c.public and c.author_id == ticket.requester_id]

    # -- settle --------------------------------------------------------------

    def settle(self, report: RedactionReport) -> None:
        now = self.clock.now()
        with self.sessions() as session:
            rows = list(session.scalars(select(CommentRedactionRow).where(
                CommentRedactionRow.state.in_(OPEN_STATES),
                or_(CommentRedactionRow.retry_at.is_(None), CommentRedactionRow.retry_at <= now))
                .order_by(CommentRedactionRow.comment_id)))
        for row in rows:
            try:
                self._settle(row, report)
            except ZendeskHttpError as error:
                # Zendesk refused the call itself (a closed ticket, no permission): asking again changes nothing.
                self._give_up(row, _refusal(error), report)
            except ZendeskError as error:
                # A passing fault: tried again later, until it has failed too often.
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    self._give_up(row, f"gave up after {row.attempts + 1} attempts: {error}", report)
                else:
                    self._set(row, "retry", detail=str(error)[:500], attempts=row.attempts + 1,
                              retry_at=self.clock.now() + retry_wait(row.attempts + 1))

    def _settle(self, row: CommentRedactionRow, report: RedactionReport) -> None:
        tickets = self.gateway.tickets([row.ticket_id])
        if not tickets:
            self._give_up(row, "deleted: Zendesk has no such ticket any more", report)
            return
        ticket = tickets[0]
        if note_tag(row.comment_id) in ticket.tags:
            self._set(row, "done", detail=None, retry_at=None)  # the note landed before a crash
            return
        comment = next((c for c in self.gateway.comments(ticket.id) if c.id == row.comment_id), None)
        if comment is None:
            self._give_up(row, "deleted: the comment is gone", report)
            return
        secrets = self.finder.find(comment.text)
        if secrets:
            try:
                for secret in secrets:
                    self.gateway.redact_string(ticket.id, comment.id, secret.hidden(comment.text))
            except ZendeskHttpError as error:
                # Zendesk is the judge of what it can redact: its 422 for a ticket closed meanwhile says so.
                if error.status_code == 422 and self.gateway.tickets([ticket.id])[0].status == "closed":
                    self._give_up(row, CLOSED, report)
                    return
                raise
            report.redacted += 1
            self._set(row, "redacted")
            # Redaction may move the ticket's updated_at: the note's safe update needs the latest.
            ticket = self.gateway.tickets([ticket.id])[0]
        if ticket.status == "closed":
            self._give_up(row, "closed: redacted, but a closed ticket takes no note", report)
            return
        self._note(row, ticket, report)

    def _note(self, row: CommentRedactionRow, ticket: Ticket, report: RedactionReport) -> None:
        language = note_language(ticket.requester.locale if ticket.requester else None, self.default_language)
        body = redaction_note(language, row.shown.split("\n") if row.shown else [], "password" in row.kinds.split(","))
        # Recorded before the write: a crash leaves "noting", settled by the marker tag on the next pass.
        self._set(row, "noting", updated_stamp=ticket.updated_at)
        try:
            self.gateway.update(f"tickets/{ticket.id}.json", "ticket", {
                "comment": {"body": body, "public": True}, "additional_tags": [note_tag(row.comment_id)],
                "safe_update": True, "updated_stamp": ticket.updated_at})
        except ZendeskHttpError as error:
            if error.status_code != 409:
                raise
            # Someone wrote first, perhaps our own write whose answer was lost: the next pass re-reads the tag.
            self._set(row, "redacted", detail="UpdateConflict: the ticket changed; noted again after a re-read")
            return
        report.noted += 1
        self._set(row, "done", detail=None, retry_at=None)
        log.info("redaction.done", extra={"ticket": row.ticket_id, "comment": row.comment_id, "kinds": row.kinds,
                                          "language": language})

    def _give_up(self, row: CommentRedactionRow, reason: str, report: RedactionReport) -> None:
        report.given_up[row.comment_id] = reason
        self._set(row, "given_up", detail=reason, retry_at=None)
        log.warning("redaction.given-up", extra={"ticket": row.ticket_id, "comment": row.comment_id,
                                                 "reason": reason.split(":", 1)[0]})

    def _set(self, row: CommentRedactionRow, state: str, **values) -> None:
        with self.sessions() as session:
            session.execute(update(CommentRedactionRow).where(CommentRedactionRow.comment_id == row.comment_id)
                            .values(state=state, updated_at=self.clock.now(), **values))
            session.commit()
        row.state = state
        for key, value in values.items():
            setattr(row, key, value)

    def ledger(self) -> list[CommentRedactionRow]:
        """Every comment found holding a secret, newest first: what the report and the CLI show."""
        with self.sessions() as session:
            return list(session.scalars(select(CommentRedactionRow).order_by(CommentRedactionRow.created_at.desc(),
                                                                             CommentRedactionRow.comment_id.desc())))


def _refusal(error: ZendeskHttpError) -> str:
    if error.status_code == 404:
        return "deleted: the ticket or the comment is gone"
    if error.status_code in (401, 403):
        return "refused: the API user may not redact (Admin > Settings > Agents: Agents can delete tickets)"
    return f"refused: Zendesk answered {error.status_code}"
