"""Zendesk placeholders ({{ticket.requester.first_name}} ...) rendered with Liquid."""

from __future__ import annotations

from liquid import Environment
from liquid.exceptions import LiquidError

_ENV = Environment()


def person(user: dict | None) -> dict:
    """The placeholder view of a user; first_name is the first word of the name, as in Zendesk."""
    if not user:
        return {}
    name = user.get("name") or ""
    words = name.split()
    return {
        "id": user["id"],
        "name": name,
        "first_name": words[0] if words else "",
        "last_name": " ".join(words[1:]),
        "email": user.get("email") or "",
        "phone": user.get("phone") or "",
        "language": user.get("locale") or "",
    }


def render(text: str, *, ticket: dict, requester: dict | None, assignee: dict | None, current_user: dict | None) -> str:
    """Render a comment or webhook body as plain text; unknown placeholders become empty, broken syntax stays."""
    if "{" not in text:
        return text  # nothing to render; skips building a template for plain comments
    context = {
        "ticket": {
            "id": ticket["id"],
            "title": ticket.get("subject") or "",
            "description": ticket.get("description") or "",
            "status": (ticket.get("status") or "").capitalize(),
            "priority": (ticket.get("priority") or "").capitalize(),
            "ticket_type": (ticket.get("type") or "").capitalize(),
            "tags": " ".join(ticket.get("tags") or ()),
            "created_at_with_timestamp": ticket.get("created_at") or "",
            "updated_at_with_timestamp": ticket.get("updated_at") or "",
            "requester": person(requester),
            "assignee": person(assignee),
        },
        "current_user": person(current_user),
    }
    try:
        return _ENV.from_string(text).render(**context)
    except LiquidError:
        return text
