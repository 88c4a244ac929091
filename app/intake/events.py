"""Webhook bodies from our Zendesk triggers, parsed into typed events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.errors import InputError

# The events our triggers and automations send (see triggers/ and app/zendesk/sla_provisioning.py); anything else is
# acknowledged and ignored.
KNOWN_EVENTS = frozenset({"ticket.created", "ticket.updated", "ticket.solved", "comment.added", "ticket.sla_breached",
                          "ticket.reopened"})


@dataclass(frozen=True)
class TicketEvent:
    event: str
    ticket_id: int
    updated_at: str | None = None

    @property
    def key(self) -> str | None:
        """The same change of the same ticket, however many times Zendesk delivers it."""
        return f"{self.event}:{self.ticket_id}:{self.updated_at}" if self.updated_at else None


ID_PATTERN = re.compile(r"[0-9]{1,19}")  # ASCII digits only: int() reads other scripts' digits too


def parse_id(value: object, name: str) -> int:
    """A Zendesk id (ticket, user, incident): a positive integer that fits in 64 bits.

    :raises InputError: anything else.
    """
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not ID_PATTERN.fullmatch(text) or not 0 < int(text) < 2**63:
        raise InputError(f"{name} must be a positive whole number")
    return int(text)


def json_object(raw_body: bytes) -> dict:
    """A request body that must be one JSON object.

    :raises InputError: not JSON, nested too deeply for the parser, a lone surrogate, a number too long to read,
        or not an object.
    """
    try:
        data = json.loads(raw_body)
        # A lone surrogate ("\\ud800") parses, but no store or API takes it as UTF-8.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("body is not valid JSON") from None
    except UnicodeEncodeError:
        raise InputError("body has text that is not valid Unicode (a lone surrogate)") from None
    except ValueError:
        # Python refuses to read an integer of more than 4300 digits (CVE-2020-10735).
        raise InputError("body has a number too long to be read") from None
    except RecursionError:
        # The parser recurses per level: a few thousand nested brackets exhaust Python's stack.
        raise InputError("body nests too deeply to be read") from None
    if not isinstance(data, dict):
        raise InputError("body must be a JSON object")
    return data


def parse_ticket_event(raw_body: bytes) -> TicketEvent:
    """Parse a trigger's JSON body.

    :raises InputError: not JSON, not an object, or no usable ticket id / event.
    """
    data = json_object(raw_body)
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise InputError("body has no 'event'")
    # Placeholders render as text, so the id usually arrives as a string of digits.
    ticket_id = parse_id(data.get("ticket_id"), "ticket_id")
    updated_at = data.get("updated_at")
    if updated_at is not None and (not isinstance(updated_at, str) or len(updated_at) > 40):
        raise InputError("'updated_at' must be a timestamp")
    return TicketEvent(event=event, ticket_id=ticket_id, updated_at=updated_at or None)
