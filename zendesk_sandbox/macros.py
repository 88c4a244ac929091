"""Turn a macro's actions into the ticket changes the Macros API reports.

https://developer.zendesk.com/api-reference/ticketing/business-rules/macros/ — a macro saved in the
rich-text editor holds its comment as comment_value_html; apply reports its text as body as well.
"""

from __future__ import annotations

from typing import Any

from zendesk_sandbox.html_text import html_to_text
from zendesk_sandbox.tickets import normalize_tags, text_to_html

_PLAIN_FIELDS = ("status", "priority", "type", "subject", "group_id")


def comment_text(value: Any) -> str:
    """comment_value as text: a string, or ["channel:all", "text"]."""
    if isinstance(value, list):
        return str(value[-1]) if value else ""
    return str(value or "")


def macro_changes(macro: dict, *, current_user_id: int) -> dict:
    """The Tickets API update a macro stands for, placeholders left as they are."""
    changes: dict[str, Any] = {}
    text, html_body, public = None, None, True
    for action in macro["actions"]:
        field, value = action["field"], action["value"]
        if field == "comment_value":
            text = comment_text(value)
        elif field == "comment_value_html":
            html_body = comment_text(value)
        elif field == "comment_mode_is_public":
            public = value not in (False, "false")
        elif field in _PLAIN_FIELDS:
            changes[field] = value
        elif field == "assignee_id":
            changes["assignee_id"] = current_user_id if value == "current_user" else int(value)
        elif field == "set_tags":
            changes["tags"] = normalize_tags(value)
        elif field == "current_tags":
            changes["additional_tags"] = normalize_tags(value)
        elif field == "remove_tags":
            changes["remove_tags"] = normalize_tags(value)
        elif field.startswith("custom_fields_"):
            changes.setdefault("custom_fields", []).append(
                {"id": int(field.removeprefix("custom_fields_")), "value": value}
            )
    if text is not None or html_body is not None:
        body = text if text is not None else html_to_text(html_body or "")
        changes["comment"] = {
            "body": body,
            "html_body": html_body or text_to_html(body),
            "public": public,
            "scoped_body": [["channel:all", body]],
        }
    return changes
