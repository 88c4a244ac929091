"""Webhook bodies from our Zendesk triggers, parsed into typed events."""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.errors import InputError

# The events our triggers send (see triggers/); anything else is acknowledged and ignored.
KNOWN_EVENTS = frozenset({"ticket.created", "ticket.updated", "ticket.solved"})


@dataclass(frozen=True)
class TicketEvent:
    event: str
    ticket_id: int
    updated_at: str | None = None

    @property
    def key(self) -> str | None:
        """The same change of the same ticket, however many times Zendesk delivers it."""
        return f"{self.event}:{self.ticket_id}:{self.updated_at}" if self.updated_at else None


def parse_ticket_event(raw_body: bytes) -> TicketEvent:
    """Parse a trigger's JSON body.

    :raises InputError: not JSON, not an object, or no usable ticket id / event.
    """
    try:
        data = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError("body must be a JSON object")
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise InputError("body has no 'event'")
    raw_id = data.get("ticket_id")
    # Placeholders render as text, so the id usually arrives as a string of digits.
    if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or not str(raw_id).strip().isdigit():
        raise InputError("body has no numeric 'ticket_id'")
    ticket_id = int(str(raw_id).strip())
    if not 0 < ticket_id < 2**63:
        raise InputError("'ticket_id' is out of range")
    updated_at = data.get("updated_at")
    if updated_at is not None and (not isinstance(updated_at, str) or len(updated_at) > 40):
        raise InputError("'updated_at' must be a timestamp")
    return TicketEvent(event=event, ticket_id=ticket_id, updated_at=updated_at or None)
