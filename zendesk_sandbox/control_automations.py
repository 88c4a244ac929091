"""/_sandbox/automations/run: Zendesk's hourly automation run, now, and /_sandbox/organizations for seeding.

The run follows zendesk_sandbox.automations: every ticket that is not closed, every active automation in
order, each firing at most once per ticket per run; an automation's update is a ticket update like any
other (the triggers run on it), and its notification_webhook actions are sent once the update is saved.
An update Zendesk would refuse (a solve without an assignee) leaves the ticket as it was, as in Zendesk.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request

from zendesk_sandbox import automations
from zendesk_sandbox.api_organizations import add_organization, add_organization_field
from zendesk_sandbox.conditions import TicketUpdate
from zendesk_sandbox.context import Sandbox, current
from zendesk_sandbox.errors import ApiError, json_body
from zendesk_sandbox.state import API_USER_ID
from zendesk_sandbox.tickets import UpdateError
from zendesk_sandbox.timefmt import iso, parse_iso
from zendesk_sandbox.trigger_cycle import perform_actions

bp = Blueprint("control_automations", __name__)


def run_automations(sandbox: Sandbox, now: datetime | None = None) -> list[dict]:
    """One automation run over the account, as of `now` (the sandbox's clock unless given): what fired, as
    {"automation_id", "ticket_id"}. The time only decides the conditions; the updates are stamped as usual."""
    fired = []
    state = sandbox.state
    with state.lock:
        now = now or sandbox.now()
        active = sorted((a for a in state.automations.values() if a["active"]), key=automations.firing_order)
        for ticket_id in sorted(state.tickets):
            for automation in active:
                ticket = state.tickets.get(ticket_id)
                if ticket is None or ticket["status"] == "closed":
                    break
                if not automations.holds(state, automation, ticket, now):
                    continue
                changes: dict = {}
                update = TicketUpdate(before=ticket, after=ticket, update_type="Change", actor_id=API_USER_ID,
                                      via={}, comment=None)
                calls = perform_actions(automation, update, lambda found: changes.update(found))
                try:
                    outcome = sandbox.update_ticket(ticket_id, changes, actor_id=API_USER_ID) if changes else None
                except UpdateError:
                    continue
                saved = outcome.ticket if outcome else ticket
                sandbox.send_webhooks([(saved, call) for call in calls], API_USER_ID)
                fired.append({"automation_id": automation["id"], "ticket_id": ticket_id})
    return fired


@bp.post("/_sandbox/automations/run")
def run():
    """Run the automations now (Zendesk: hourly), or the run Zendesk would make at {"at": ISO time} — two days
    from now, say — without waiting for it; answers what fired."""
    at = (request.get_json(silent=True) or {}).get("at")
    try:
        when = parse_iso(at) if at else None
    except ValueError:
        raise ApiError(400, "InvalidParameter", "at must be an ISO 8601 time") from None
    return {"fired": run_automations(current(), when)}


@bp.post("/_sandbox/organization_fields")
def organization_field():
    """An admin adds a drop-down organization field: {"key", "title", "options": [[name, tag], ...]}."""
    body = json_body()
    if not isinstance(body.get("key"), str) or not isinstance(body.get("options"), list):
        raise ApiError(400, "InvalidParameter", "key and options are required")
    sandbox = current()
    return add_organization_field(sandbox.state, body["key"], body.get("title") or body["key"],
                                  [tuple(option) for option in body["options"]], now=iso(sandbox.now())), 201


@bp.post("/_sandbox/organizations")
def organization():
    """An organization and its members: {"name", "tags", "organization_fields", "member_ids": [...], "members":
    [{"email", "name", "locale"}, ...]} (end users found by email, or created)."""
    body = json_body()
    sandbox = current()
    state = sandbox.state
    with state.lock:
        members = [state.user(user_id) for user_id in body.get("member_ids") or []]
        if None in members:
            raise ApiError(400, "InvalidParameter", "member_ids must be users")
        for person in body.get("members") or []:
            if not isinstance(person, dict) or not isinstance(person.get("email"), str):
                raise ApiError(400, "InvalidParameter", "each member needs an email")
            members.append(state.user_by_email(person["email"]) or state.add_user(
                person.get("name") or person["email"].split("@")[0], email=person["email"],
                locale=person.get("locale") or "en-US", created_at=iso(sandbox.now())))
        organization = add_organization(state, body.get("name") or "Organization", tags=list(body.get("tags") or []),
                                        fields=dict(body.get("organization_fields") or {}), now=iso(sandbox.now()))
        for user in members:
            user["organization_id"] = organization["id"]
        return organization, 201
