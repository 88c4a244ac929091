"""Tell the referents on Slack that a ticket broke its first-reply SLA, once per ticket.

Zendesk finds the breach and escalates it (the automations setup made: priority up one level, the
breach tag), then calls our webhook; this is the part Zendesk cannot do. The breach is recorded per
ticket before the message goes, claimed while it is sent and marked sent once Slack took it: a second
delivery, or a replay after a crash after the mark, sends nothing; a crash between Slack's answer and
the mark sends it again once the claim lapses (Slack's incoming webhooks have no idempotency key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.errors import InputError
from app.incident.sla_plans import Plans
from app.store.claims import Claim
from app.store.tables import InboxRow, SlaAlertRow
from app.store.writes import insert_ignoring_duplicates
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket

CLAIM_TIMEOUT = timedelta(minutes=2)


class SlaBreachAlerts:
    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock, alerts: SlackAlerts,
                 plans: Callable[[], Plans], ticket_url: Callable[[int], str]):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.alerts = alerts
        self.plans = plans
        self.ticket_url = ticket_url

    def handle(self, events: list[InboxRow]) -> dict[int, str]:
        """Alert once per breached ticket; outcome by event id. Events whose message Slack refused are left
        out, so they stay pending and the next drain tries again."""
        ticket_ids = sorted({event.ticket_id for event in events})
        with self.sessions() as session:
            insert_ignoring_duplicates(session, SlaAlertRow, [{"ticket_id": ticket_id, "received_at": self.clock.now()}
                                                              for ticket_id in ticket_ids])
            session.commit()
            sent = set(session.scalars(select(SlaAlertRow.ticket_id).where(
                SlaAlertRow.ticket_id.in_(ticket_ids), SlaAlertRow.sent_at.is_not(None))))
        tickets = {t.id: t for t in self.gateway.tickets(set(ticket_ids) - sent)} if set(ticket_ids) - sent else {}
        results: dict[int, str] = {}
        for ticket_id in ticket_ids:
            if ticket_id in sent:
                results[ticket_id] = "sla breach: referents already told"
            elif ticket_id not in tickets:
                results[ticket_id] = "skipped: unknown ticket"
            elif self._send(tickets[ticket_id]):
                results[ticket_id] = "sla breach: referents told on Slack"
        return {event.id: results[event.ticket_id] for event in events if event.ticket_id in results}

    def _send(self, ticket: Ticket) -> bool:
        claim = Claim(self.sessions, self.clock, SlaAlertRow.ticket_id, ticket.id, SlaAlertRow.claimed_at,
                      CLAIM_TIMEOUT)
        if not claim.take(steal=False):
            return False  # another process is sending it
        try:
            # No channel configured: nothing to wait for.
            sent = self.alerts.send(self._message(ticket), mention=True) if self.alerts.enabled else True
            if sent:
                with self.sessions() as session:
                    session.execute(update(SlaAlertRow).where(SlaAlertRow.ticket_id == ticket.id)
                                    .values(sent_at=self.clock.now()))
                    session.commit()
            return sent
        finally:
            claim.release()

    def _message(self, ticket: Ticket) -> str:
        try:
            plan = self.plans().plan_of(ticket.tags)
            which = f"{plan.title()} plan, under {_target(Plans.target(plan))}"
        except InputError as error:
            # The plan field went away since setup: the referents still hear of the breach, and why no plan.
            which = f"plan unknown: {error}"
        return (f":hourglass: First-reply SLA breached ({which}): ticket <{self.ticket_url(ticket.id)}|#{ticket.id}> "
                f"\"{escape(ticket.subject)}\", priority now {ticket.priority or 'none'}. Please answer it.")


def _target(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
