"""Trigger Categories API: list and show for agents, create for admins; errors come as an `errors` list."""

from __future__ import annotations

from flask import Blueprint, request

from zendesk_sandbox import triggers
from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import cursor_page, offset_page
from zendesk_sandbox.timefmt import iso
from zendesk_sandbox.validation import Problems

bp = Blueprint("api_trigger_categories", __name__)
NOT_FOUND_TITLE = "Category can’t be found. Check the ID and try again."


@bp.get("/api/v2/trigger_categories")
def index():
    """Categories by position; cursor pages with page[size], else offset pages."""
    with current().state.lock:
        found = sorted(current().state.trigger_categories.values(), key=_order)
    path = "/api/v2/trigger_categories"
    if "page[size]" in request.args:
        return cursor_page(found, key="trigger_categories", path=path, position=lambda c: list(_order(c)), render=dict)
    return offset_page(found, key="trigger_categories", path=path, render=dict)


@bp.get("/api/v2/trigger_categories/<category_id>")
def show(category_id: str):
    """One category."""
    category = triggers.category(current().state, category_id)
    if category is None:
        raise ApiError.with_body(404, {"errors": [{"code": "TriggerCategoryNotFound", "title": NOT_FOUND_TITLE}]})
    return {"trigger_category": dict(category)}


@bp.post("/api/v2/trigger_categories")
@admin_only
def create():
    """Create a category; Zendesk answers 200 (not 201) here."""
    sandbox = current()
    spec = resource_body("trigger_category")
    problems = Problems()
    triggers.check_category(spec, problems)
    problems.raise_error_list()
    with sandbox.state.lock:
        category = triggers.add_category(sandbox.state, spec, now=iso(sandbox.now()))
    return {"trigger_category": dict(category)}


def _order(category: dict) -> tuple:
    return category["position"], int(category["id"])
