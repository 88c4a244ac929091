"""Take tickets into an incident through the take-in ledger: recorded first, written once, retried until settled.

One update per ticket carries everything: the outage tag, the contact reason, the link to the problem,
status open, the priority, and one comment — the customer's acknowledgement where they get one, else the
private "API DOWN" note (Zendesk takes one comment per update). The ledger row is written before the update,
and the update carries a marker tag and the ticket's `updated_at` (safe update), so after a crash a re-read
tells whether it landed, and of two writes racing for one ticket only the first applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Config
from app.errors import InputError
from app.incident.model import closing_language, impact_level, raised_priority
from app.store.tables import AffectedTicketRow, IncidentRow
from app.store.writes import upsert_insert
from app.zendesk.bulk import BulkWriter
from app.zendesk.gateway import ZendeskGateway, chunks
from app.zendesk.model import BulkOutcome, DropdownField, Macro, Ticket, User

log = logging.getLogger(__name__)

HISTORY_NOTE = "API DOWN"
# Written with the acknowledgement, so each customer gets it once whatever reruns.
ACKNOWLEDGED_TAG = "outage_desk_acknowledged"
# On every ticket of an active outage, removed by its closing write: Outage Desk's reopen trigger acts
# only on tickets that carry it, so nothing is reopened once its outage is over.
LIVE_TAG = "outage_desk_live"
# A failed take-in is tried again after this, doubling each time up to the cap.
RETRY_FIRST, RETRY_CAP = timedelta(seconds=5), timedelta(minutes=10)
MAX_ATTEMPTS = 12  # about an hour of retries before a ticket is given up, with the reason kept
# Item errors that mean the ticket itself will not take the change; a re-read says which.
GONE = ("RecordNotFound", "ClosedTicket")
# A write submitted this long ago with no answer recorded was left by a dead process: re-read, then retry.
ORPHAN_AFTER = timedelta(minutes=2)


def taken_tag(incident_id: int) -> str:
    """The tag written in the same update as the take-in: Zendesk's own record that it landed."""
    return f"outage_desk_in_{incident_id}"


@dataclass(frozen=True)
class AccountObjects:
    """The account's own fields, looked up once by id or title."""

    cr_field: DropdownField
    impact_field: DropdownField | None


@dataclass
class TakeInTally:
    """One pipeline's take-in so far; `swept` keeps a ticket the sweep found from being written
    again when the export finds it too, before the store has recorded it."""

    swept: set[int] = field(default_factory=set)
    taken: int = 0
    acknowledged: int = 0
    retrying: dict[int, str] = field(default_factory=dict)
    given_up: dict[int, str] = field(default_factory=dict)


class TakeIn:
    """The take-in ledger of the desk's incidents: queue, settle what failed, reconcile after a crash."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 account: Callable[[], AccountObjects], referent: Callable[[], User | None],
                 acknowledgement_macros: Callable[[], dict[str, Macro]]):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        # Callables: the desk looks its account objects up from Zendesk on first use only.
        self.account = account
        self.referent = referent
        self.acknowledgement_macros = acknowledgement_macros

    # -- writing -------------------------------------------------------------------

    def queue(self, writer: BulkWriter, incident: IncidentRow, tickets: Iterable[Ticket], source: str,
              tally: TakeInTally) -> None:
        """Record the tickets not yet in the incident, then queue their one write each."""
        fresh = {t.id: t for t in tickets if t.id not in tally.swept}
        if not fresh:
            return
        macros = self.acknowledgement_macros()  # looked up before the write: a bad referent stops us first
        items = {ticket_id: self._item(incident, ticket, macros) for ticket_id, ticket in fresh.items()}
        now = self.clock.now()
        with self.sessions() as session:
            # Only the rows this process inserted are written: a ticket another process recorded is its.
            statement = upsert_insert(session, AffectedTicketRow).on_conflict_do_nothing().returning(
                AffectedTicketRow.ticket_id)
            mine = set(session.scalars(statement, [
                {"incident_id": incident.id, "ticket_id": ticket_id, "source": source, "taken_in_at": now,
                 "reopened": 0, "state": "submitted", "updated_stamp": fresh[ticket_id].updated_at,
                 "acknowledged": int(ACKNOWLEDGED_TAG in items[ticket_id]["additional_tags"]),
                 "attempts": 1, "retry_at": now + ORPHAN_AFTER} for ticket_id in sorted(fresh)]))
            session.commit()
        self._write(writer, incident, [items[ticket_id] for ticket_id in sorted(mine)], tally)

    def _write(self, writer: BulkWriter, incident: IncidentRow, items: list[dict], tally: TakeInTally) -> None:
        if items:
            acknowledged = {item["id"] for item in items if ACKNOWLEDGED_TAG in item["additional_tags"]}
            writer.add(items, then=lambda outcome: self._landed(incident, outcome, acknowledged, tally),
                       then_adds=False)

    def _item(self, incident: IncidentRow, ticket: Ticket, macros: dict[str, Macro]) -> dict:
        account = self.account()
        item: dict = {
            "id": ticket.id,
            "additional_tags": [incident.tag, LIVE_TAG, taken_tag(incident.id)],
            "custom_fields": [{"id": account.cr_field.id, "value": cr_option(account, incident)}],
            "type": "incident",
            "problem_id": incident.problem_ticket_id,
            "status": "open",
            "safe_update": True,
            "updated_stamp": ticket.updated_at,
        }
        impact_field = account.impact_field
        impact = impact_level(ticket.custom_fields.get(impact_field.id)) if impact_field else None
        requester = ticket.requester
        new_tag = self.config.outage_desk_new_customer_tag
        new_customer = new_tag in ticket.tags or (requester is not None and new_tag in requester.tags)
        priority = raised_priority(ticket.priority, impact, incident.severity, new_customer)
        if priority:
            item["priority"] = priority
        # Nobody would read an acknowledgement without an email address; those customers are called back.
        if macros and ACKNOWLEDGED_TAG not in ticket.tags and requester is not None and requester.email:
            macro = macros[closing_language(requester.locale, set(macros), self.config.outage_desk_default_language)]
            item["additional_tags"].append(ACKNOWLEDGED_TAG)
            # The macro as Zendesk would apply it; what the outage needs (open, linked, tagged) wins.
            return macro.apply_to(item, self.referent().id, protected_tags(account, incident))
        return {**item, "comment": {"body": HISTORY_NOTE, "public": False}}

    def _landed(self, incident: IncidentRow, outcome: BulkOutcome, acknowledged: set[int],
                tally: TakeInTally) -> None:
        self._set(incident.id, outcome.succeeded, state="taken", detail=None)
        tally.taken += len(outcome.succeeded)
        for ticket_id in outcome.succeeded:
            tally.retrying.pop(ticket_id, None)
        tally.acknowledged += len(outcome.succeeded & acknowledged)
        if outcome.failed:
            self._failed(incident, outcome.failed, tally)

    def _failed(self, incident: IncidentRow, failed: dict[int, str], tally: TakeInTally) -> None:
        """Conflicts are due again at once (re-read first), the rest after a growing wait."""
        now = self.clock.now()
        with self.sessions() as session:
            attempts = dict(session.execute(select(AffectedTicketRow.ticket_id, AffectedTicketRow.attempts).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id.in_(list(failed)))).all())
            for ticket_id, reason in failed.items():
                wait = timedelta(0) if reason.startswith("UpdateConflict") else retry_wait(attempts.get(ticket_id, 1))
                session.execute(update(AffectedTicketRow).where(
                    AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id == ticket_id)
                    .values(state="retry", retry_at=now + wait, detail=reason[:500]))
            session.commit()
        tally.retrying.update(failed)
        log_failures("incident.take-in-failed", incident.id, failed, "retried")

    # -- settling what is left -----------------------------------------------------------

    def due(self, incident: IncidentRow, within: timedelta = timedelta(0), all_submitted: bool = False) -> list[int]:
        """Tickets whose take-in should be tried again by now (+ `within`): failed ones whose wait is
        over, and submitted ones no answer came back for (their process died) — with `all_submitted`,
        every submitted one: the caller has just taken the incident over from whoever wrote them."""
        overdue = AffectedTicketRow.retry_at <= self.clock.now() + within
        if all_submitted:
            overdue = overdue | (AffectedTicketRow.state == "submitted")
        with self.sessions() as session:
            return sorted(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.state.in_(("retry", "submitted")),
                overdue)))

    def settle(self, writer: BulkWriter, incident: IncidentRow, ticket_ids: list[int], tally: TakeInTally) -> None:
        """Re-read these tickets: landed, gone, or written again with what Zendesk has now."""
        if not ticket_ids:
            return
        with self.sessions() as session:
            # Once resolve has begun, nobody is taken in any more: its closing write may be out already.
            if session.get(IncidentRow, incident.id).state != "declared":
                return
        found = {t.id: t for t in self.gateway.tickets(ticket_ids)}
        with self.sessions() as session:
            rows = {row.ticket_id: row for row in session.scalars(select(AffectedTicketRow).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id.in_(ticket_ids)))}
        landed, gone, again = set(), {}, []
        for ticket_id in ticket_ids:
            ticket, row = found.get(ticket_id), rows.get(ticket_id)
            if row is None:
                continue
            if ticket is None:
                gone[ticket_id] = "deleted: Zendesk has no such ticket any more"
            elif taken_tag(incident.id) in ticket.tags:
                landed.add(ticket_id)
            elif {f"outage_desk_closed_{incident.id}", f"outage_desk_callback_{incident.id}"} & set(ticket.tags):
                gone[ticket_id] = "resolved: the ticket had its closing reply before its take-in landed"
            elif ticket.status == "closed":
                gone[ticket_id] = "closed: a closed ticket cannot be changed"
            elif row.attempts >= MAX_ATTEMPTS:
                gone[ticket_id] = f"gave up after {row.attempts} attempts: {row.detail or 'failed'}"
            else:
                again.append(ticket)
        self._set(incident.id, landed, state="taken", detail=None)
        tally.taken += len(landed)
        for ticket_id, reason in gone.items():
            self._set(incident.id, [ticket_id], state="given_up", detail=reason)
        tally.given_up.update(gone)
        for ticket_id in landed | set(gone):
            tally.retrying.pop(ticket_id, None)
        log_failures("incident.take-in-given-up", incident.id, gone, "given up")
        if not again:
            return
        macros = self.acknowledgement_macros()
        items = [self._item(incident, ticket, macros) for ticket in again]
        now = self.clock.now()
        with self.sessions() as session:
            for item in items:
                session.execute(update(AffectedTicketRow).where(
                    AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id == item["id"])
                    .values(state="submitted", updated_stamp=item["updated_stamp"], retry_at=now + ORPHAN_AFTER,
                            attempts=AffectedTicketRow.attempts + 1,
                            acknowledged=int(ACKNOWLEDGED_TAG in item["additional_tags"])))
            session.commit()
        self._write(writer, incident, items, tally)

    def _set(self, incident_id: int, ticket_ids: Iterable[int], state: str, detail: str | None) -> None:
        ids = sorted(ticket_ids)
        if not ids:
            return
        with self.sessions() as session:
            for batch in chunks(ids, 500):
                session.execute(update(AffectedTicketRow).where(
                    AffectedTicketRow.incident_id == incident_id, AffectedTicketRow.ticket_id.in_(batch))
                    .values(state=state, detail=detail, retry_at=None))
            session.commit()


def cr_option(account: AccountObjects, incident: IncidentRow) -> str:
    """The contact-reason option's tag for the incident.

    :raises InputError: the field has no such option.
    """
    value = account.cr_field.option_value(incident.cr_value)
    if value is None:
        raise InputError(f"the field {account.cr_field.title!r} has no option {incident.cr_value!r}")
    return value


def protected_tags(account: AccountObjects, incident: IncidentRow) -> set[str]:
    """Tags no macro may take off an outage ticket: the outage's own and its contact reason's."""
    return {incident.tag, cr_option(account, incident), LIVE_TAG}


def to_reread(failed: dict[int, str]) -> list[int]:
    """The failed writes a re-read settles: a conflict (someone wrote first, perhaps our own earlier write) or
    a ticket gone. The rest are tried again later."""
    return [ticket_id for ticket_id, reason in failed.items() if reason.startswith(("UpdateConflict", *GONE))]


def give_up_reason(ticket: Ticket | None, attempts: int, detail: str | None) -> str | None:
    """Why a reply that has not landed never will (the ticket deleted, closed, or tried too often), else None."""
    if ticket is None:
        return "deleted: Zendesk has no such ticket any more"
    if ticket.status == "closed":
        return "closed: a closed ticket cannot be changed"
    if attempts >= MAX_ATTEMPTS:
        return f"gave up after {attempts} attempts: {detail or 'failed'}"
    return None


def retry_wait(attempts: int) -> timedelta:
    """The wait before the next try after `attempts` tries: doubling, capped."""
    return min(RETRY_FIRST * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def log_failures(event: str, incident_id: int, failed: dict[int, str], what: str) -> None:
    """One structured line per reason, naming its tickets."""
    by_reason: dict[str, list[int]] = {}
    for ticket_id, reason in failed.items():
        by_reason.setdefault(reason.split(":", 1)[0] if reason else "failed", []).append(ticket_id)
    for reason, ids in by_reason.items():
        # Someone wrote to the ticket between our read and our write: re-read and sent again, nothing wrong.
        level = logging.INFO if reason == "UpdateConflict" else logging.WARNING
        log.log(level, event, extra={"incident": incident_id, "reason": reason, "outcome": what,
                                     "count": len(ids), "tickets": ",".join(map(str, sorted(ids)))})

