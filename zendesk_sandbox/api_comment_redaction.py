"""Ticket Comments API: Redact String in Comment.

https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#redact-string-in-comment
PUT /api/v2/tickets/{ticket_id}/comments/{ticket_comment_id}/redact.json with {"text": "..."}: every
character of the string in the comment is replaced by the ▇ symbol; the answer is {"comment": {...}}.
"Once a ticket is closed, you can no longer redact strings from its comments": a closed ticket is refused
with 422 (the page names no error body; the sandbox answers as for any refused change of a closed ticket).
An unknown ticket or a comment not on it is 404. Redaction is permanent; redacting the first comment redacts the
ticket's description, which is that comment's text. (Agent Workspace's
PUT /api/v2/comment_redactions/{id}, which also reaches closed tickets, needs Agent Workspace and
<redact> tags in the comment's HTML: not offered here.)
"""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, json_body, not_found
from zendesk_sandbox.tickets import UpdateError

bp = Blueprint("api_comment_redaction", __name__)
REDACTED = "▇"


@bp.put("/api/v2/tickets/<int:ticket_id>/comments/<int:comment_id>/redact")
def redact_string(ticket_id: int, comment_id: int):
    text = json_body().get("text")
    if not isinstance(text, str) or not text:
        raise ApiError(400, "InvalidParameter", "The body needs the 'text' to redact")
    state = current().state
    with state.lock:
        ticket = state.ticket(ticket_id)
        if ticket is None:
            raise not_found()
        comment = next((c for c in state.comments.get(ticket_id, ()) if c["id"] == comment_id), None)
        if comment is None:
            raise not_found()
        if ticket["status"] == "closed":
            raise UpdateError("ClosedTicket", "status", "Status: closed prevents redacting its comments")
        for key in ("body", "html_body", "plain_body"):
            comment[key] = (comment.get(key) or "").replace(text, REDACTED * len(text))
        if comment is state.comments[ticket_id][0]:
            # A ticket's description is its first comment's text: redacted with it.
            ticket["description"] = (ticket.get("description") or "").replace(text, REDACTED * len(text))
        return {"comment": {key: comment[key] for key in ("id", "type", "author_id", "body", "html_body",
                                                           "plain_body", "public", "created_at")}}
