"""Merge Tickets into Target Ticket: POST /api/v2/tickets/{ticket_id}/merge queues a job merging `ids` into it.

https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#merge-tickets-into-target-ticket
(mirrored at developers.qodex.ai/integration-flows/zendesk-support-api/api-v2-tickets-ticket_id-2/
merge-tickets-into-target-ticket-3): the body holds `ids` (required), `target_comment`, `source_comment`,
`target_comment_is_public`, `source_comment_is_public` (comments default to private); the answer is a
job_status, the work done by a background job. Merging rules (support.zendesk.com/hc/en-us/articles/203690916,
"Merging tickets"): closed tickets cannot be merged, a source is closed by the merge, the comments are added to
the source and target tickets. A merge that breaks a rule fails in its job, which says why; nothing is merged.
"""

from __future__ import annotations

from flask import Blueprint, g

from zendesk_sandbox.api_tickets import queue_job
from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, json_body, not_found

bp = Blueprint("api_merge", __name__)


@bp.post("/api/v2/tickets/<int:ticket_id>/merge")
def merge(ticket_id: int):
    """Queue the merge of `ids` into this ticket; 404 for an unknown target, 400 for a body without ids."""
    body = json_body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ApiError(400, "InvalidParameter", "ids must be an array of ticket ids")
    if ticket_id in ids:
        raise ApiError(400, "InvalidParameter", "A ticket cannot be merged into itself")
    state = current().state
    with state.lock:
        if state.ticket(ticket_id) is None:
            raise not_found()
    item = {"action": "merge", "target_id": ticket_id, "source_ids": ids, "actor_id": g.sandbox_user["id"],
            "target_comment": _text(body, "target_comment"), "source_comment": _text(body, "source_comment"),
            "target_public": body.get("target_comment_is_public") is True,
            "source_public": body.get("source_comment_is_public") is True}
    return queue_job([item], "Merge")


def _text(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "InvalidParameter", f"{key} must be a string")
    return value
