"""Whether a ticket belongs in an incident: the one rule for backfill, webhooks and sweeps."""

from __future__ import annotations

from app.incident.model import UNSOLVED
from app.store.tables import IncidentRow
from app.zendesk.model import Ticket, User
from app.zendesk.query import Query


def belongs_to(incident: IncidentRow, query: Query, ticket: Ticket) -> bool:
    """Unsolved, from a customer (not an agent), not the problem itself, and matching the query."""
    if ticket.status not in UNSOLVED or ticket.id == incident.problem_ticket_id:
        return False
    if ticket.requester and ticket.requester.is_agent:
        return False
    return query.matches(ticket.search_document(), _requester_document(ticket.requester))


def _requester_document(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "email": user.email, "name": user.name, "locale": user.locale, "role": user.role}
