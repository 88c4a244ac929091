"""Macros API: list, active, search, show, the two read-only apply endpoints, and admin writes.

Writes follow developer.zendesk.com/api-reference/ticketing/business-rules/macros/: titles need not
be unique, and actions sent replace the whole list. Plain agents' personal macros are not modelled.
"""

from __future__ import annotations

from flask import Blueprint, g, request

from zendesk_sandbox import rules
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, int_list, not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.macros import macro_changes
from zendesk_sandbox.paging import cursor_page, offset_page
from zendesk_sandbox.render import macro_json, ticket_json
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.tickets import preview_update
from zendesk_sandbox.timefmt import iso
from zendesk_sandbox.validation import Problems

bp = Blueprint("api_macros", __name__)
WRITABLE = ("title", "actions", "active", "description", "restriction", "position")


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


@bp.post("/api/v2/macros")
@admin_only
def create():
    """Create a macro (201), placed last unless a position is given."""
    sandbox = current()
    spec = {"active": True, "description": None, "restriction": None, "position": None, **_writable()}
    with sandbox.state.lock:
        _check(sandbox.state, spec)
        macro = sandbox.state.add_macro(
            spec["title"],
            _actions(spec["actions"]),
            description=spec["description"],
            active=spec["active"],
            created_at=iso(sandbox.now()),
        )
        macro["restriction"] = spec["restriction"]
        if spec["position"] is not None:
            macro["position"] = spec["position"]
        return {"macro": macro_json(macro, base_url())}, 201


@bp.put("/api/v2/macros/<int:macro_id>")
@admin_only
def update(macro_id: int):
    """Update a macro; actions sent replace every action."""
    sandbox = current()
    with sandbox.state.lock:
        macro = _macro(macro_id)
        spec = {**{name: macro[name] for name in WRITABLE}, **_writable()}
        _check(sandbox.state, spec)
        macro.update(spec, actions=_actions(spec["actions"]), raw_title=spec["title"], updated_at=iso(sandbox.now()))
        return {"macro": macro_json(macro, base_url())}


@bp.delete("/api/v2/macros/<int:macro_id>")
@admin_only
def delete(macro_id: int):
    """Delete a macro (204)."""
    state = current().state
    with state.lock:
        _macro(macro_id)
        del state.macros[macro_id]
    return "", 204


@bp.delete("/api/v2/macros/destroy_many")
@admin_only
def destroy_many():
    """Delete several macros by ?ids= (204); any unknown id refuses them all."""
    ids = int_list(request.args.get("ids"), limit=100)
    state = current().state
    with state.lock:
        for macro_id in ids:
            _macro(macro_id)
        for macro_id in ids:
            del state.macros[macro_id]
    return "", 204


def _writable() -> dict:
    body = resource_body("macro")
    return {name: body[name] for name in WRITABLE if name in body}


def _actions(actions: list[dict]) -> list[dict]:
    return [{"field": action["field"], "value": action.get("value")} for action in actions]


def _check(state: SandboxState, macro: dict) -> None:
    """Raise 422 RecordInvalid listing everything wrong with a macro's attributes."""
    problems = Problems()
    if not isinstance(macro.get("title"), str) or not macro["title"].strip():
        problems.add("title", "Title: cannot be blank", "BlankValue")
    rules.check_actions(state, macro.get("actions"), rules.MACRO_ACTIONS, problems)
    if not isinstance(macro["active"], bool):
        problems.add("active", "Active: must be true or false")
    if macro["description"] is not None and not isinstance(macro["description"], str):
        problems.add("description", "Description: must be text")
    position = macro["position"]
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        problems.add("position", "Position: must be a whole number")
    _check_restriction(state, macro["restriction"], problems)
    problems.raise_record_invalid()


def _check_restriction(state: SandboxState, restriction: object, problems: Problems) -> None:
    """null (every agent), {"type": "User", "id": agent} or {"type": "Group", "id" or "ids": group ids}."""
    if restriction is None:
        return
    kind = restriction.get("type") if isinstance(restriction, dict) else None
    if kind == "User":
        if not state.is_agent(restriction.get("id")):
            problems.add("restriction", "Restriction: id must be an agent's user id")
    elif kind == "Group":
        ids = restriction.get("ids", [restriction.get("id")])
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            problems.add("restriction", "Restriction: a Group restriction needs an id or ids")
    else:
        problems.add("restriction", "Restriction: type must be Group or User")


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
