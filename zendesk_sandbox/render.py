"""Stored records as the JSON Zendesk returns (urls, computed fields, sideloads)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.tickets import field_values


def ticket_json(state: SandboxState, ticket: dict, base: str) -> dict:
    """A ticket with its url, has_incidents and every custom field listed (unset ones as null)."""
    values = field_values(ticket)
    custom_fields = [{"id": field_id, "value": values.get(field_id)} for field_id in state.ticket_fields]
    custom_fields += [
        {"id": field_id, "value": value} for field_id, value in values.items() if field_id not in state.ticket_fields
    ]
    return {
        **ticket,
        "url": f"{base}/api/v2/tickets/{ticket['id']}.json",
        "tags": list(ticket["tags"]),
        "custom_fields": custom_fields,
        "fields": [dict(entry) for entry in custom_fields],
        "has_incidents": bool(state.incidents.get(ticket["id"])),
    }


def user_json(user: dict, base: str) -> dict:
    """A user as the Users API shows it."""
    return {
        **user,
        "url": f"{base}/api/v2/users/{user['id']}.json",
        "active": True,
        "verified": bool(user.get("email")),
        "updated_at": user["created_at"],
    }


def sideload_users(state: SandboxState, tickets: Iterable[dict], base: str) -> list[dict]:
    """The `users` sideload for tickets: their requesters and assignees, each once."""
    seen: dict[int, dict] = {}
    for ticket in tickets:
        for user_id in (ticket.get("requester_id"), ticket.get("assignee_id")):
            user = state.user(user_id)
            if user and user_id not in seen:
                seen[user_id] = user_json(user, base)
    return list(seen.values())


def wants_users(include: str | None) -> bool:
    """Whether an include parameter asks for users (include=users or include=tickets(users))."""
    return "users" in re.findall(r"\w+", include or "")


def macro_json(macro: dict, base: str) -> dict:
    """A macro with its url."""
    return {**macro, "url": f"{base}/api/v2/macros/{macro['id']}.json"}


def ticket_field_json(ticket_field: dict, base: str) -> dict:
    """A ticket field with its url."""
    return {**ticket_field, "url": f"{base}/api/v2/ticket_fields/{ticket_field['id']}.json"}
