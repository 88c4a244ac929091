"""Ticket Fields API: list and show for agents; create, update and option upserts for admins."""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox import ticket_fields
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.render import ticket_field_json
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_ticket_fields", __name__)


@bp.get("/api/v2/ticket_fields")
def index():
    """Every ticket field."""
    fields = [ticket_field_json(field, base_url()) for field in current().state.ticket_fields.values()]
    return {"ticket_fields": fields, "next_page": None, "previous_page": None, "count": len(fields)}


@bp.get("/api/v2/ticket_fields/<int:field_id>")
def show(field_id: int):
    """One ticket field with its drop-down options."""
    return {"ticket_field": ticket_field_json(_field(field_id), base_url())}


@bp.post("/api/v2/ticket_fields")
@admin_only
def create():
    """Create a custom field (201)."""
    sandbox = current()
    with sandbox.state.lock:
        ticket_field = ticket_fields.create_field(sandbox.state, resource_body("ticket_field"), now=iso(sandbox.now()))
        return {"ticket_field": ticket_field_json(ticket_field, base_url())}, 201


@bp.put("/api/v2/ticket_fields/<int:field_id>")
@admin_only
def update(field_id: int):
    """Update a field; custom_field_options, when sent, replace every option."""
    sandbox = current()
    with sandbox.state.lock:
        ticket_field = _field(field_id)
        ticket_fields.update_field(sandbox.state, ticket_field, resource_body("ticket_field"), now=iso(sandbox.now()))
        return {"ticket_field": ticket_field_json(ticket_field, base_url())}


@bp.post("/api/v2/ticket_fields/<int:field_id>/options")
@admin_only
def upsert_option(field_id: int):
    """Create (201) or, given an existing option's id, update (200) one drop-down option."""
    sandbox = current()
    with sandbox.state.lock:
        ticket_field = _field(field_id)
        spec = resource_body("custom_field_option")
        option, created = ticket_fields.upsert_option(sandbox.state, ticket_field, spec, now=iso(sandbox.now()))
        body = {"custom_field_option": ticket_fields.option_json(ticket_field, option, base_url())}
    location = f"/api/v2/ticket_fields/{field_id}/options.json"
    return body, 201 if created else 200, {"Location": location}


@bp.delete("/api/v2/ticket_fields/<int:field_id>")
@admin_only
def delete(field_id: int):
    """Delete a custom field (204); tickets keep no value for it."""
    state = current().state
    with state.lock:
        _field(field_id)
        del state.ticket_fields[field_id]
        for ticket in state.tickets.values():
            ticket["custom_fields"] = [entry for entry in ticket["custom_fields"] if entry["id"] != field_id]
    return "", 204


def _field(field_id: int) -> dict:
    ticket_field = current().state.ticket_fields.get(field_id)
    if ticket_field is None:
        raise not_found()
    return ticket_field
