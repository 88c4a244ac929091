"""Users API: me, show, show_many, search."""

from __future__ import annotations

from flask import Blueprint, g, request

from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, int_list, not_found
from zendesk_sandbox.render import user_json

bp = Blueprint("api_users", __name__)
SEARCH_PAGE = 100


@bp.get("/api/v2/users/me")
def me():
    """The authenticated user."""
    return {"user": user_json(g.sandbox_user, base_url())}


@bp.get("/api/v2/users/search")
def search():
    """Search Users: `query` in search syntax; `email:` matches the address exactly, a bare term is
    found in the name, email or phone. Zendesk answers with offset pagination."""
    query = (request.args.get("query") or "").strip()
    if not query:
        raise ApiError(400, "InvalidParameter", "query or external_id is required")
    field, _, value = query.partition(":") if ":" in query else ("", "", query)
    value = value.strip().strip('"').casefold()
    state = current().state
    with state.lock:
        if field == "email":
            found = [state.user_by_email(value)]
        else:
            found = [u for u in state.users.values()
                     if any(value in (u.get(key) or "").casefold() for key in ("name", "email", "phone"))]
    users = [user_json(user, base_url()) for user in found if user][:SEARCH_PAGE]
    return {"users": users, "next_page": None, "previous_page": None, "count": len(users)}


@bp.get("/api/v2/users/<int:user_id>")
def show(user_id: int):
    """One user."""
    user = current().state.user(user_id)
    if user is None:
        raise not_found()
    return {"user": user_json(user, base_url())}


@bp.get("/api/v2/users/show_many")
def show_many():
    """Up to 100 users by id; unknown ids are left out."""
    state = current().state
    found = [state.user(user_id) for user_id in int_list(request.args.get("ids"))]
    return {"users": [user_json(user, base_url()) for user in found if user]}
