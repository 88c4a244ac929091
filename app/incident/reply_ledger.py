"""One reply per ticket, exactly once: the sending loop the closing replies and the interim updates share.

Each row of a ledger is one ticket's reply. It is recorded `submitted` before its write, and the write carries
a marker tag and the ticket's `updated_at` (safe update): after a crash a re-read tells whether it landed, and
of two writes racing for one ticket only the first applies. Whoever holds the work's claim is the only live
sender, so every row it finds `submitted` is a dead process's, settled by a re-read before anything is sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from app.clock import Clock
from app.incident.take_in import ORPHAN_AFTER, give_up_reason, log_failures, retry_wait, to_reread
from app.store.claims import Claim
from app.zendesk.gateway import ZendeskGateway, chunks
from app.zendesk.model import BulkOutcome, Ticket

# How long a command waits, beside its own writes, for writes that failed and are due again soon (later
# ones are the worker's).
INLINE_RETRY_WINDOW = timedelta(seconds=30)
MAX_ROUNDS = 20


class ReplyLedger(ABC):
    """The rows of `table` whose `scope` column equals `scope_id` (one incident's closing replies, one update's
    replies): sent in bulk, settled by what Zendesk shows after.

    Subclasses say what a row's write is (`item`), which tags say it landed (`marks`), the state a landed row
    takes (`done_state`), and any other way a re-read settles it (`settled_by`).
    """

    marks: frozenset[str] = frozenset()
    event = "reply"  # the prefix of the log lines

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock, claim: Claim,
                 scope: InstrumentedAttribute, scope_id: int, incident_id: int):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.claim = claim
        self.table = scope.class_
        self.scope = scope == scope_id
        self.incident_id = incident_id

    # -- what each ledger says -------------------------------------------------------

    @abstractmethod
    def item(self, row) -> dict:
        """The bulk update item that writes this row's reply, with its marker and safe update."""

    def done_state(self, row) -> str:
        return "sent"

    def settled_by(self, row, ticket: Ticket) -> tuple[str, str] | None:
        """A state and its reason when the re-read ticket needs no reply any more, else None."""
        return None

    # -- the loop ----------------------------------------------------------------------

    def send_all(self, wait: bool, where: tuple[ColumnElement, ...] = (),
                 on_progress: Callable[[int], None] | None = None) -> None:
        """Settle what a dead process left in flight, then send every planned row, and retry failed ones due
        within the inline window when `wait` (a person waiting at the command), else only those due now."""
        self.recheck(self.rows(("submitted",), where=where))
        for _round in range(MAX_ROUNDS):
            self.claim.renew()
            # Planned: new, or planned again after a conflict showed someone else wrote to the ticket.
            planned = self.rows(("planned",), where=where)
            if planned:
                self._send(planned, on_progress)
                continue
            retry = self.rows(("retry",), where=where, due_within=INLINE_RETRY_WINDOW if wait else timedelta(0))
            if not retry:
                return
            first = min(row.retry_at for row in retry)
            if first > self.clock.now():
                self.clock.sleep((first - self.clock.now()).total_seconds())
            self.recheck(retry)

    def rows(self, states: tuple[str, ...], where: tuple[ColumnElement, ...] = (),
             due_within: timedelta = timedelta(0)) -> list:
        query = select(self.table).where(self.scope, self.table.state.in_(states), *where)
        if "retry" in states:
            query = query.where(self.table.retry_at <= self.clock.now() + due_within)
        with self.sessions() as session:
            return list(session.scalars(query.order_by(self.table.ticket_id)))

    def _send(self, rows: list, on_progress: Callable[[int], None] | None) -> None:
        items = [self.item(row) for row in rows]
        # Recorded before the write: after a crash, the re-read knows what may have landed.
        self.set([row.ticket_id for row in rows], "submitted", retry_at=self.clock.now() + ORPHAN_AFTER)

        def progressed(count: int) -> None:
            self.claim.renew()
            if on_progress:
                on_progress(count)

        by_ticket = {row.ticket_id: row for row in rows}
        writer = self.gateway.bulk_writer(progressed)
        writer.add(items, then=lambda outcome: self._landed(outcome, by_ticket), then_adds=False)
        writer.finish()

    def _landed(self, outcome: BulkOutcome, by_ticket: dict[int, object]) -> None:
        landed: dict[str, list[int]] = {}
        for ticket_id in outcome.succeeded:
            landed.setdefault(self.done_state(by_ticket[ticket_id]), []).append(ticket_id)
        for state, ticket_ids in landed.items():
            self.set(sorted(ticket_ids), state)
        # A conflict or a ticket gone: a re-read says what happened. Anything else is tried again later.
        reread = to_reread(outcome.failed)
        later = {t: reason for t, reason in outcome.failed.items() if t not in reread}
        if later:
            now = self.clock.now()
            with self.sessions() as session:
                for row in session.scalars(select(self.table).where(self.scope, self.table.ticket_id.in_(list(later)))):
                    row.attempts += 1
                    row.state, row.detail = "retry", later[row.ticket_id][:500]
                    row.retry_at, row.updated_at = now + retry_wait(row.attempts), now
                session.commit()
            log_failures(f"{self.event}-failed", self.incident_id, later, "retried")
        if reread:
            with self.sessions() as session:
                rows = list(session.scalars(select(self.table).where(self.scope, self.table.ticket_id.in_(reread))))
            self.recheck(rows)

    def recheck(self, rows: list) -> None:
        """Re-read these tickets: the reply landed (its marker says so), it is not needed any more, the ticket
        is gone, or it is planned again with what Zendesk has now."""
        if not rows:
            return
        found = {t.id: t for t in self.gateway.tickets([row.ticket_id for row in rows])}
        gone: dict[int, str] = {}
        now = self.clock.now()
        with self.sessions() as session:
            for row in rows:
                ticket = found.get(row.ticket_id)
                values: dict = {"updated_at": now, "retry_at": None}
                if ticket is not None and self.marks.intersection(ticket.tags):
                    values.update(state=self.done_state(row), detail=None)
                elif ticket is not None and (settled := self.settled_by(row, ticket)):
                    values.update(state=settled[0], detail=settled[1])
                elif reason := give_up_reason(ticket, row.attempts, row.detail):
                    values.update(state="given_up", detail=reason)
                    gone[row.ticket_id] = reason
                else:
                    values.update(state="planned", updated_stamp=ticket.updated_at, attempts=row.attempts + 1)
                session.execute(update(self.table).where(self.scope, self.table.ticket_id == row.ticket_id)
                                .values(**values))
            session.commit()
        log_failures(f"{self.event}-given-up", self.incident_id, gone, "given up")

    def set(self, ticket_ids: list[int], state: str, retry_at: datetime | None = None) -> None:
        with self.sessions() as session:
            for batch in chunks(ticket_ids, 500):
                session.execute(update(self.table).where(self.scope, self.table.ticket_id.in_(batch))
                                .values(state=state, retry_at=retry_at, updated_at=self.clock.now()))
            session.commit()
