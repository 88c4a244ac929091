"""Talk API: current queue activity, phone numbers (list, show, update) and greetings (list, show, create).

Follows Zendesk's Talk API reference:
- Stats, Show Current Queue Activity: https://developer.zendesk.com/api-reference/voice/talk-api/stats/
  (GET /api/v2/channels/voice/stats/current_queue_activity, optional phone_number_ids of at most 100, answer
  under `current_queue_activity`; allowed for agents).
- Phone Numbers: https://developer.zendesk.com/api-reference/voice/talk-api/phone_numbers/ (offset-paginated
  list under `phone_numbers`; Update Phone Number takes `{"phone_number": {...}}`, `greeting_ids` among them).
- Greetings: https://developer.zendesk.com/api-reference/voice/talk-api/greetings/ (Create Greeting needs a
  `name` and a `category_id`, 201; categories at GET /api/v2/channels/voice/greeting_categories).
An account without Talk answers every one of them with Zendesk's 403 Forbidden body.
"""

from __future__ import annotations

from flask import Blueprint, request

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, forbidden, int_list, not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import offset_page
from zendesk_sandbox.talk import CATEGORIES, TalkState
from zendesk_sandbox.validation import Problems

bp = Blueprint("api_talk", __name__, url_prefix="/api/v2/channels/voice")
LINE_WRITABLE = ("nickname", "greeting_ids", "default_group_id", "recorded", "transcription")


@bp.before_request
def talk_enabled():
    if not _talk().enabled:
        raise forbidden()


@bp.get("/stats/current_queue_activity")
def current_queue_activity():
    """The live queue, account-wide (the sandbox has one queue for all its lines)."""
    if request.args.get("phone_number_ids"):
        int_list(request.args["phone_number_ids"], "phone_number_ids", limit=100)
    talk = _talk()
    with talk.lock:
        return {"current_queue_activity": dict(talk.queue)}


@bp.get("/phone_numbers")
def phone_numbers():
    talk = _talk()
    with talk.lock:
        lines = sorted(talk.lines.values(), key=lambda line: line["id"])
        return offset_page(lines, key="phone_numbers", path="/api/v2/channels/voice/phone_numbers",
                           render=talk.line_json)


@bp.get("/phone_numbers/<int:line_id>")
def phone_number(line_id: int):
    talk = _talk()
    with talk.lock:
        return {"phone_number": talk.line_json(_line(talk, line_id))}


@bp.put("/phone_numbers/<int:line_id>")
@admin_only
def update_phone_number(line_id: int):
    """Update a line; `greeting_ids` replaces its custom greetings (one per category, each an existing one)."""
    talk = _talk()
    body = resource_body("phone_number")
    changes = {name: body[name] for name in LINE_WRITABLE if name in body}
    with talk.lock:
        line = _line(talk, line_id)
        if talk.refused_updates.get(line_id):
            talk.refused_updates[line_id] -= 1
            raise ApiError(500, "InternalError", "The phone number could not be updated. Please try again.")
        if "greeting_ids" in changes:
            _check_greetings(talk, changes["greeting_ids"])
            changes["greeting_ids"] = list(changes["greeting_ids"])
        line.update(changes)
        return {"phone_number": talk.line_json(line)}


@bp.get("/greetings")
def greetings():
    talk = _talk()
    with talk.lock:
        found = sorted(talk.greetings.values(), key=lambda greeting: greeting["id"])
        return offset_page(found, key="greetings", path="/api/v2/channels/voice/greetings",
                           render=talk.greeting_json)


@bp.get("/greetings/<int:greeting_id>")
def greeting(greeting_id: int):
    talk = _talk()
    with talk.lock:
        found = talk.greetings.get(greeting_id)
        if found is None:
            raise not_found()
        return {"greeting": talk.greeting_json(found)}


@bp.post("/greetings")
@admin_only
def create_greeting():
    body = resource_body("greeting")
    problems = Problems()
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        problems.add("name", "Name: cannot be blank", "BlankValue")
    category_id = body.get("category_id")
    if category_id not in CATEGORIES or isinstance(category_id, bool):
        problems.add("category_id", "Category: is not a greeting category")
    problems.raise_record_invalid()
    talk = _talk()
    with talk.lock:
        created = talk.add_greeting(body["name"].strip(), category_id, default_lang=bool(body.get("default_lang")))
        return {"greeting": talk.greeting_json(created)}, 201


@bp.get("/greeting_categories")
def greeting_categories():
    categories = [{"id": cid, "name": name} for cid, name in CATEGORIES.items()]
    return {"greeting_categories": categories, "next_page": None, "previous_page": None, "count": len(categories)}


def _talk() -> TalkState:
    return current().talk


def _line(talk: TalkState, line_id: int) -> dict:
    line = talk.lines.get(line_id)
    if line is None:
        raise not_found()
    return line


def _check_greetings(talk: TalkState, ids: object) -> None:
    problems = Problems()
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        problems.add("greeting_ids", "Greeting ids: must be a list of greeting ids")
    else:
        unknown = [i for i in ids if i not in talk.greetings]
        categories = [talk.greetings[i]["category_id"] for i in ids if i in talk.greetings]
        if unknown:
            problems.add("greeting_ids", f"Greeting ids: no greeting with id {', '.join(map(str, unknown))}")
        if len(set(categories)) < len(categories):
            problems.add("greeting_ids", "Greeting ids: a phone number has one greeting per category")
    problems.raise_record_invalid()
