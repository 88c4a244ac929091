"""Automations API: list and show; create and update for admins.

developer.zendesk.com/api-reference/ticketing/business-rules/automations/; the rules are checked and
run in zendesk_sandbox.automations, the hourly cycle is /_sandbox/automations/run (control_automations).
"""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox import automations
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import offset_page
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_automations", __name__)


def _json(automation: dict) -> dict:
    return {"url": f"{base_url()}/api/v2/automations/{automation['id']}.json", **automation}


@bp.get("/api/v2/automations")
def index():
    state = current().state
    with state.lock:
        found = sorted(state.automations.values(), key=automations.firing_order)
    return offset_page(found, key="automations", path="/api/v2/automations", render=_json)


@bp.get("/api/v2/automations/<int:automation_id>")
def show(automation_id: int):
    return {"automation": _json(_automation(automation_id))}


@bp.post("/api/v2/automations")
@admin_only
def create():
    sandbox = current()
    with sandbox.state.lock:
        automation = automations.create_automation(sandbox.state, resource_body("automation"), now=iso(sandbox.now()))
        return {"automation": _json(automation)}, 201


@bp.put("/api/v2/automations/<int:automation_id>")
@admin_only
def update(automation_id: int):
    sandbox = current()
    with sandbox.state.lock:
        automation = automations.update_automation(sandbox.state, _automation(automation_id),
                                                   resource_body("automation"), now=iso(sandbox.now()))
        return {"automation": _json(automation)}


def _automation(automation_id: int) -> dict:
    automation = current().state.automations.get(automation_id)
    if automation is None:
        raise not_found()
    return automation
