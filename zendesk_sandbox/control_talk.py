"""Talk test and demo helpers under /_sandbox/talk (not Zendesk): callers queueing, Talk switched off, a line
whose updates fail."""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, json_body
from zendesk_sandbox.talk import QUEUE_FIELDS

bp = Blueprint("control_talk", __name__, url_prefix="/_sandbox/talk")


@bp.get("")
def talk():
    """Talk on or off, the queue, and each line's greeting ids."""
    state = current().talk
    with state.lock:
        return {"enabled": state.enabled, "queue": dict(state.queue),
                "lines": {str(line_id): list(line["greeting_ids"]) for line_id, line in state.lines.items()}}


@bp.post("/queue")
def queue():
    """Callers waiting now: {"calls_waiting": 120} (any current_queue_activity counter, whole numbers >= 0)."""
    body = json_body()
    wrong = [name for name, value in body.items() if name not in QUEUE_FIELDS
             or not isinstance(value, int) or isinstance(value, bool) or value < 0]
    if wrong:
        raise ApiError(400, "InvalidParameter", f"not a queue counter (a whole number >= 0): {', '.join(wrong)}")
    state = current().talk
    with state.lock:
        state.queue.update(body)
        return dict(state.queue)


@bp.post("/enabled")
def enabled():
    """{"enabled": false}: the account has no Talk, and every Talk endpoint answers 403."""
    body = json_body()
    if not isinstance(body.get("enabled"), bool):
        raise ApiError(400, "InvalidParameter", "enabled must be true or false")
    state = current().talk
    with state.lock:
        state.enabled = body["enabled"]
    return {"enabled": body["enabled"]}


@bp.post("/phone_numbers/<int:line_id>/refuse_updates")
def refuse_updates(line_id: int):
    """{"count": 3}: the line's next three updates answer 500 and change nothing; {"count": 0} lifts it."""
    count = json_body().get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ApiError(400, "InvalidParameter", "count must be a whole number >= 0")
    state = current().talk
    with state.lock:
        if line_id not in state.lines:
            raise ApiError(404, "RecordNotFound", "Not found")
        state.refused_updates[line_id] = count
    return {"phone_number_id": line_id, "refused_updates": count}
