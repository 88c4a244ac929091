"""Macros API: list, active, search, show, and the two read-only apply endpoints."""

from __future__ import annotations

from flask import Blueprint, g, request

from app.sandbox.context import base_url, current
from app.sandbox.errors import ApiError, not_found
from app.sandbox.macros import macro_changes
from app.sandbox.paging import cursor_page, offset_page
from app.sandbox.render import macro_json, ticket_json
from app.sandbox.tickets import preview_update

bp = Blueprint("api_macros", __name__)


@bp.get("/api/v2/macros")
def index():
    """Macros by position; cursor pages with page[size], offset pages otherwise; ?active= filters."""
    active = request.args.get("active")
    wanted = None if active is None else active == "true"
    return _listing(lambda macro: wanted is None or macro["active"] is wanted, "/api/v2/macros")


@bp.get("/api/v2/macros/active")
def active():
    """Active macros."""
    return _listing(lambda macro: macro["active"], "/api/v2/macros/active")


@bp.get("/api/v2/macros/search")
def search():
    """Macros whose title contains the query (case-insensitive)."""
    query = (request.args.get("query") or "").casefold()
    if not query:
        raise ApiError(400, "InvalidParameter", "Parameter query is required")
    return _listing(lambda macro: query in macro["title"].casefold(), "/api/v2/macros/search")


@bp.get("/api/v2/macros/<int:macro_id>")
def show(macro_id: int):
    """One macro with its actions."""
    return {"macro": macro_json(_macro(macro_id), base_url())}


@bp.get("/api/v2/macros/<int:macro_id>/apply")
def apply(macro_id: int):
    """The changes a macro makes (Show Changes to Ticket); nothing is written."""
    return {"result": {"ticket": macro_changes(_macro(macro_id), current_user_id=g.sandbox_user["id"])}}


@bp.get("/api/v2/tickets/<int:ticket_id>/macros/<int:macro_id>/apply")
def apply_to_ticket(ticket_id: int, macro_id: int):
    """The ticket as the macro would leave it, comment rendered (Show Ticket After Changes); nothing is written."""
    sandbox = current()
    user_id = g.sandbox_user["id"]
    changes = macro_changes(_macro(macro_id), current_user_id=user_id)
    with sandbox.state.lock:
        ticket = sandbox.state.ticket(ticket_id)
        if ticket is None:
            raise not_found()
        after = ticket_json(sandbox.state, preview_update(sandbox.state, ticket, changes, actor_id=user_id), base_url())
    if "comment" in after:
        after["comment"]["scoped_body"] = [["channel:all", after["comment"]["body"]]]
    return {"result": {"ticket": after}}


def _macro(macro_id: int) -> dict:
    macro = current().state.macros.get(macro_id)
    if macro is None:
        raise not_found()
    return macro


def _listing(keep, path: str) -> dict:
    macros = sorted(
        (macro for macro in current().state.macros.values() if keep(macro)),
        key=lambda macro: (macro["position"], macro["id"]),
    )

    def render(macro: dict) -> dict:
        return macro_json(macro, base_url())

    if "page[size]" in request.args:
        return cursor_page(macros, key="macros", path=path, position=lambda m: [m["position"], m["id"]], render=render)
    return offset_page(macros, key="macros", path=path, render=render)
