"""Test and demo helpers under /_sandbox/ (not Zendesk): customers writing in, outbox, stats, webhook deliveries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, request

from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, json_body
from zendesk_sandbox.faults import Faults
from zendesk_sandbox.render import ticket_json
from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.tickets import customer_via
from zendesk_sandbox.timefmt import iso, parse_iso

bp = Blueprint("control", __name__)
CHANNELS = ("email", "chat", "voice", "web", "native_messaging")
VOICE_RELS = ("inbound", "outbound", "voicemail")


@bp.post("/_sandbox/tickets")
def customer_ticket():
    """A customer writes in: find or create the requester and create the ticket (the account's triggers run)."""
    body = json_body()
    sandbox = current()
    channel = body.get("channel", "email")
    if channel not in CHANNELS:
        raise ApiError(400, "InvalidParameter", f"channel must be one of {', '.join(CHANNELS)}")
    rel = body.get("voice_rel", "inbound") if channel == "voice" else None
    if rel is not None and rel not in VOICE_RELS:
        raise ApiError(400, "InvalidParameter", f"voice_rel must be one of {', '.join(VOICE_RELS)}")
    if not (body.get("description") or "").strip():
        raise ApiError(400, "InvalidParameter", "description is required")
    created_at = _created_at(body.get("created_at"))
    with sandbox.state.lock:
        requester = _requester(sandbox.state, body, created_at or iso(sandbox.now()))
        spec = {
            key: body[key]
            for key in ("subject", "tags", "assignee_id", "status", "priority", "type", "custom_fields",
                        "organization_id")
            if key in body
        }
        spec["requester_id"] = requester["id"]
        spec["submitter_id"] = requester["id"]
        spec["comment"] = {"body": body["description"], "public": True, "author_id": requester["id"]}
        outcome = sandbox.create_ticket(
            spec,
            actor_id=requester["id"],
            via=customer_via(channel, rel, requester),
            created_at=created_at,
        )
        return ticket_json(sandbox.state, outcome.ticket, base_url()), 201


@bp.post("/_sandbox/tickets/<int:ticket_id>/replies")
def customer_reply(ticket_id: int):
    """The requester replies to the ticket's email: {"body": "..."} (a public comment; the account's triggers run)."""
    body = json_body()
    if not isinstance(body.get("body"), str) or not body["body"].strip():
        raise ApiError(400, "InvalidParameter", "body is required")
    sandbox = current()
    with sandbox.state.lock:
        ticket = sandbox.state.ticket(ticket_id)
        if ticket is None:
            raise ApiError(404, "RecordNotFound", "Not found")
        requester_id = ticket["requester_id"]
        comment = {"body": body["body"], "public": True, "author_id": requester_id}
        outcome = sandbox.update_ticket(ticket_id, {"comment": comment}, actor_id=requester_id)
        return ticket_json(sandbox.state, outcome.ticket, base_url()), 200


@bp.get("/_sandbox/emails")
def emails():
    """Emails sent so far; ?ticket_id= narrows to one ticket."""
    state = current().state
    ticket_id = request.args.get("ticket_id", type=int)
    with state.lock:
        sent = state.emails_for(ticket_id) if ticket_id else list(state.emails)
    return {"emails": sent}


@bp.get("/_sandbox/stats")
def stats():
    """API call counts by endpoint, rate-limited calls, emails sent."""
    return current().state.stats()


@bp.post("/_sandbox/stats/reset")
def reset_stats():
    """Forget the API call log."""
    current().state.reset_stats()
    return current().state.stats()


@bp.get("/_sandbox/calls")
def calls():
    """The API call log, oldest first."""
    state = current().state
    with state.lock:
        return {"calls": list(state.calls)}


@bp.get("/_sandbox/webhook/deliveries")
def deliveries():
    """Every webhook invocation triggers made, with its attempts and response codes."""
    state = current().state
    with state.lock:
        return {"deliveries": [dict(delivery, attempts=list(delivery["attempts"])) for delivery in state.deliveries]}


@bp.get("/_sandbox/faults")
def faults():
    """The injected faults now in force."""
    return current().faults.faults.as_json()


@bp.post("/_sandbox/faults")
def set_faults():
    """Replace the injected faults, e.g. {"server_error_rate": 0.05, "seed": 3}; {} turns them all off."""
    try:
        wanted = Faults.from_json(json_body())
    except (TypeError, ValueError) as error:
        raise ApiError(400, "InvalidParameter", str(error)) from None
    current().faults.set(wanted)
    return wanted.as_json()


@bp.post("/_sandbox/apps/installations/<int:installation_id>/signed_url")
def signed_url(installation_id: int):
    """What Zendesk's agent UI does when `user_id` opens a signedUrls app: the token it POSTs to the page.

    {"user_id": 2, "location": "ticket_sidebar"} → {"token": …}; only agents and admins open apps.
    """
    body = json_body()
    sandbox = current()
    if installation_id not in sandbox.apps.installations:
        raise ApiError(404, "RecordNotFound", "no such installation")
    user = sandbox.state.user(body.get("user_id")) if isinstance(body.get("user_id"), int) else None
    if user is None or user["role"] not in ("agent", "admin"):
        raise ApiError(400, "InvalidParameter", "user_id must be an agent or admin of the account")
    location = str(body.get("location") or "ticket_sidebar")
    return {"token": sandbox.apps.signed_url_token(installation_id, user["id"], base_url(), location)}


@bp.post("/_sandbox/seed")
def seed():
    """Seed an outage: {"tickets": 600, "seed": 7, "minutes": 120, "macros": [...]} (started `minutes` ago).

    `macros` are macro objects as the Macros API takes them, put in the account as already there.
    """
    body = request.get_json(silent=True) or {}
    macros = body.get("macros", [])
    if not isinstance(macros, list) or not all(isinstance(m, dict) and m.get("title") for m in macros):
        raise ApiError(400, "InvalidParameter", "macros must be a list of macro objects with a title")
    sandbox = current()
    now = sandbox.now()
    summary = seed_outage(
        sandbox.state,
        tickets=int(body.get("tickets", 600)),
        seed=int(body.get("seed", 7)),
        start=now - timedelta(minutes=float(body.get("minutes", 120))),
        end=now,
        macros=macros,
    )
    return asdict(summary), 201


@bp.post("/_sandbox/account/time_zone")
def set_time_zone():
    """The admin changes the account's time zone: {"time_zone": "Paris", "iana_time_zone": "Europe/Paris"}."""
    body = json_body()
    name, iana = body.get("time_zone"), body.get("iana_time_zone")
    try:
        ZoneInfo(iana)
    except (TypeError, ValueError, ZoneInfoNotFoundError):
        raise ApiError(400, "InvalidParameter",
                       "iana_time_zone must be an IANA time zone such as Europe/Paris") from None
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "InvalidParameter", "time_zone must be the zone's display name, such as Paris")
    state = current().state
    with state.lock:
        state.time_zone = (name, iana)
    return {"time_zone": name, "iana_time_zone": iana}


def _created_at(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return iso(parse_iso(raw))
    except (TypeError, ValueError):
        raise ApiError(400, "InvalidParameter", "created_at must be an ISO 8601 time") from None


def _requester(state: SandboxState, body: dict, created_at: str) -> dict:
    """The requester: by id, by email, by phone (known caller), or a new end user."""
    if body.get("requester_id") is not None:
        user = state.user(body["requester_id"])
        if user is None:
            raise ApiError(400, "InvalidParameter", "requester_id is not a user")
        return user
    person = body.get("requester")
    if not isinstance(person, dict):
        raise ApiError(400, "InvalidParameter", "requester or requester_id is required")
    email, phone = person.get("email"), person.get("phone")
    known = (email and state.user_by_email(email)) or (not email and phone and state.user_by_phone(phone))
    if known:
        return known
    if email:
        name = person.get("name") or email.split("@")[0]
    else:
        # Zendesk names an unknown caller's new end user after the phone number.
        name = phone or person.get("name")
    if not name:
        raise ApiError(400, "InvalidParameter", "requester needs a name, an email or a phone")
    return state.add_user(name, email=email, phone=phone, locale=person.get("locale") or "en-US", created_at=created_at)
