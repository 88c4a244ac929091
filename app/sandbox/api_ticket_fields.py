"""Ticket Fields API: list and show."""

from __future__ import annotations

from flask import Blueprint

from app.sandbox.context import base_url, current
from app.sandbox.errors import not_found
from app.sandbox.render import ticket_field_json

bp = Blueprint("api_ticket_fields", __name__)


@bp.get("/api/v2/ticket_fields")
def index():
    """Every ticket field."""
    fields = [ticket_field_json(field, base_url()) for field in current().state.ticket_fields.values()]
    return {"ticket_fields": fields, "next_page": None, "previous_page": None, "count": len(fields)}


@bp.get("/api/v2/ticket_fields/<int:field_id>")
def show(field_id: int):
    """One ticket field with its drop-down options."""
    field = current().state.ticket_fields.get(field_id)
    if field is None:
        raise not_found()
    return {"ticket_field": ticket_field_json(field, base_url())}
