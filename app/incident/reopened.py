"""Still broken after the fix: a customer who answers the closing email reopens the ticket, and it is followed up.

Zendesk reopens a solved ticket when its requester comments; Outage Desk's trigger "reopened after the fix"
(triggers/reopened-after-fix.json) sends the webhook for tickets carrying the closing reply's tag. The ticket
is then taken into the open follow-up incident if there is one (through the take-in ledger, so it gets that
incident's acknowledgement and closing email), else tagged `outage_desk_reopened` and flagged to the product
referent on Slack.

One row per ticket and answered incident, recorded before anything is written: a redelivered webhook or a
rerun finds it. The Slack message is claimed before it is sent and released only if Slack refused it, so the
referent hears of a ticket once; a process that dies between the claim and Slack's answer loses that one
message (logged by the claim left without its state) rather than risk sending it twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.incident.matching import belongs_to
from app.incident.model import State
from app.store.tables import AffectedTicketRow, IncidentRow, ReopenedTicketRow
from app.store.writes import upsert_insert
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket, User
from app.zendesk.query import parse

log = logging.getLogger(__name__)

REOPENED_TAG = "outage_desk_reopened"
CLOSED_TAG_OF = re.compile(r"outage_desk_closed_(\d+)")
FLAG = (":leftwards_arrow_with_hook: Still broken after the fix of *{title}*: the customer of ticket #{ticket} "
        "says it still does not work, and no outage is declared. {referent}please have a look: {url}")
PENDING = ("reopened", "tagged")

# The desk's take-in: (incident, tickets, source) -> (how many taken in, failures by ticket id).
TakeIn = Callable[[IncidentRow, list[Ticket], str], tuple[int, dict[int, str]]]


def answered_incident(ticket: Ticket) -> int | None:
    """The latest incident whose closing reply this ticket had (its outage_desk_closed_<id> tag)."""
    ids = [int(match.group(1)) for tag in ticket.tags if (match := CLOSED_TAG_OF.fullmatch(tag))]
    return max(ids) if ids else None


class Reopened:
    """Follows up tickets reopened after their outage's closing email."""

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock, alerts: SlackAlerts,
                 take_in: TakeIn, referent: Callable[[], User | None], ticket_url: Callable[[int], str]):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.alerts = alerts
        self.take_in = take_in
        self.referent = referent
        self.ticket_url = ticket_url

    def handle(self, ticket_ids: set[int]) -> dict[int, str]:
        """Record the reopened tickets, then follow each up; returns each ticket's outcome for the inbox."""
        outcomes: dict[int, str] = {}
        tickets = {t.id: t for t in self.gateway.tickets(ticket_ids)}
        rows = []
        for ticket_id in sorted(ticket_ids):
            ticket = tickets.get(ticket_id)
            incident_id = answered_incident(ticket) if ticket else None
            if ticket is None:
                outcomes[ticket_id] = "skipped: unknown ticket"
            elif incident_id is None:
                outcomes[ticket_id] = "ignored: it had no closing email"
            elif ticket.status in ("solved", "closed"):
                outcomes[ticket_id] = "ignored: solved again since"
            else:
                rows.append({"ticket_id": ticket_id, "incident_id": incident_id, "reopened_at": self.clock.now(),
                             "state": "reopened"})
        if rows:
            with self.sessions() as session:
                session.execute(upsert_insert(session, ReopenedTicketRow).on_conflict_do_nothing(), rows)
                session.commit()
        for row in self.pending({row["ticket_id"] for row in rows}):
            outcomes[row.ticket_id] = self._follow_up(row, tickets.get(row.ticket_id))
        for row in rows:
            outcomes.setdefault(row["ticket_id"], "already followed up")
        return outcomes

    def pending(self, ticket_ids: set[int] | None = None) -> list[ReopenedTicketRow]:
        """Rows not followed up to the end yet (a failed write, Slack down): the worker carries them on."""
        query = select(ReopenedTicketRow).where(ReopenedTicketRow.state.in_(PENDING))
        if ticket_ids is not None:
            query = query.where(ReopenedTicketRow.ticket_id.in_(sorted(ticket_ids)))
        with self.sessions() as session:
            return list(session.scalars(query.order_by(ReopenedTicketRow.ticket_id)))

    def run_pending(self) -> int:
        """The worker's pass over rows left half-way; returns how many it finished."""
        rows = [row for row in self.pending() if row.flag_claimed_at is None]
        if not rows:
            return 0
        tickets = {t.id: t for t in self.gateway.tickets({row.ticket_id for row in rows})}
        return sum(self._follow_up(row, tickets.get(row.ticket_id)).startswith(("followed", "flagged"))
                   for row in rows)

    def _follow_up(self, row: ReopenedTicketRow, ticket: Ticket | None) -> str:
        if ticket is None:
            self._set(row, state="given_up", detail="deleted: Zendesk has no such ticket any more")
            return "skipped: unknown ticket"
        if row.state == "reopened":
            followup = self._followup_incident(row, ticket)
            if followup is not None:
                taken, failed = self.take_in(followup, [ticket], "reopened")
                # A failed take-in is the take-in ledger's to retry: this ticket is that incident's now.
                self._set(row, state="followed_up", followup_incident_id=followup.id,
                          detail=failed.get(ticket.id))
                log.info("reopened.followed-up", extra={"ticket": ticket.id, "incident": followup.id})
                return f"followed up in incident #{followup.id}"
            outcome = self.gateway.bulk_update([{"id": ticket.id, "additional_tags": [REOPENED_TAG]}])
            if ticket.id not in outcome.succeeded:
                self._set(row, detail=outcome.failed.get(ticket.id, "failed")[:500])
                return f"failed: {outcome.failed.get(ticket.id, 'failed')}"
            self._set(row, state="tagged")
        return self._flag(row)

    def _followup_incident(self, row: ReopenedTicketRow, ticket: Ticket) -> IncidentRow | None:
        """The declared incident it belongs to, else the newest declared one: the outage is back, or another."""
        with self.sessions() as session:
            declared = list(session.scalars(select(IncidentRow).where(
                IncidentRow.state == State.DECLARED, IncidentRow.id != row.incident_id,
                IncidentRow.backfilled_at.is_not(None)).order_by(IncidentRow.id.desc())))
            already = set(session.scalars(select(AffectedTicketRow.incident_id).where(
                AffectedTicketRow.ticket_id == ticket.id)))
        declared = [incident for incident in declared if incident.id not in already]
        matching = [incident for incident in declared if belongs_to(incident, parse(incident.query), ticket)]
        return (matching or declared or [None])[0]

    def _flag(self, row: ReopenedTicketRow) -> str:
        """Tell the product referent on Slack, once: claimed before the message, released if Slack refused it."""
        with self.sessions() as session:
            won = session.execute(update(ReopenedTicketRow).where(
                ReopenedTicketRow.ticket_id == row.ticket_id, ReopenedTicketRow.incident_id == row.incident_id,
                ReopenedTicketRow.flag_claimed_at.is_(None)).values(flag_claimed_at=self.clock.now())).rowcount
            session.commit()
            incident = session.get(IncidentRow, row.incident_id)
        if not won:
            return "flagged already"
        if not self.alerts.enabled:
            self._set(row, state="unflagged", detail="no Slack webhook configured (SLACK_WEBHOOK_URL): tagged only")
            return "tagged; no Slack to tell"
        referent = self.referent()
        text = FLAG.format(title=escape(incident.title), ticket=row.ticket_id, url=self.ticket_url(row.ticket_id),
                           referent=f"{escape(referent.name)}, " if referent else "")
        if not self.alerts.send(text, mention=True):
            self._set(row, flag_claimed_at=None, detail="Slack did not take the message: told again on the next pass")
            return "tagged; Slack to be told again"
        self._set(row, state="flagged", detail=None)
        log.info("reopened.flagged", extra={"ticket": row.ticket_id, "incident": row.incident_id})
        return "flagged to the referent"

    def _set(self, row: ReopenedTicketRow, **values) -> None:
        with self.sessions() as session:
            session.execute(update(ReopenedTicketRow).where(
                ReopenedTicketRow.ticket_id == row.ticket_id, ReopenedTicketRow.incident_id == row.incident_id)
                .values(**values))
            session.commit()
        for key, value in values.items():
            setattr(row, key, value)

    def reopened_after(self, incident_id: int) -> list[int]:
        """The tickets reopened after this incident's closing email, for its report."""
        with self.sessions() as session:
            return list(session.scalars(select(ReopenedTicketRow.ticket_id).where(
                ReopenedTicketRow.incident_id == incident_id).order_by(ReopenedTicketRow.ticket_id)))
