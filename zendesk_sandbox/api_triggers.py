"""Triggers API: list and show for agents (as documented); create, update and delete for admins.

Plain agents have no "manage triggers" permission here (the sandbox models no custom roles).
"""

from __future__ import annotations

from flask import Blueprint, request

from zendesk_sandbox import triggers
from zendesk_sandbox.trigger_cycle import firing_order
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import cursor_page, offset_page
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_triggers", __name__)


@bp.get("/api/v2/triggers")
def index():
    """Triggers in firing order; ?active= and ?category_id= filter; cursor pages with page[size], else offset."""
    active = request.args.get("active")
    category_id = request.args.get("category_id")
    with current().state.lock:
        found = sorted(
            (
                trigger
                for trigger in current().state.triggers.values()
                if (active is None or trigger["active"] is (active == "true"))
                and category_id in (None, trigger["category_id"])
            ),
            key=firing_order,
        )

    def render(trigger: dict) -> dict:
        return triggers.trigger_json(trigger, base_url())

    if "page[size]" in request.args:
        return cursor_page(
            found, key="triggers", path="/api/v2/triggers", position=lambda t: list(firing_order(t)), render=render
        )
    return offset_page(found, key="triggers", path="/api/v2/triggers", render=render)


@bp.get("/api/v2/triggers/<int:trigger_id>")
def show(trigger_id: int):
    """One trigger."""
    return {"trigger": triggers.trigger_json(_trigger(trigger_id), base_url())}


@bp.post("/api/v2/triggers")
@admin_only
def create():
    """Create a trigger (201), placed last."""
    sandbox = current()
    with sandbox.state.lock:
        trigger = triggers.create_trigger(sandbox.state, resource_body("trigger"), now=iso(sandbox.now()))
        return {"trigger": triggers.trigger_json(trigger, base_url())}, 201


@bp.put("/api/v2/triggers/<int:trigger_id>")
@admin_only
def update(trigger_id: int):
    """Update a trigger; sending conditions or actions replaces both lists."""
    sandbox = current()
    with sandbox.state.lock:
        stored = _trigger(trigger_id)
        trigger = triggers.update_trigger(sandbox.state, stored, resource_body("trigger"), now=iso(sandbox.now()))
        return {"trigger": triggers.trigger_json(trigger, base_url())}


@bp.delete("/api/v2/triggers/<int:trigger_id>")
@admin_only
def delete(trigger_id: int):
    """Delete a trigger (204)."""
    state = current().state
    with state.lock:
        _trigger(trigger_id)
        del state.triggers[trigger_id]
    return "", 204


def _trigger(trigger_id: int) -> dict:
    trigger = current().state.triggers.get(trigger_id)
    if trigger is None:
        raise not_found()
    return trigger
