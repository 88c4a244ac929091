"""Users API: me, show, show_many."""

from __future__ import annotations

from flask import Blueprint, g, request

from app.sandbox.context import base_url, current
from app.sandbox.errors import int_list, not_found
from app.sandbox.render import user_json

bp = Blueprint("api_users", __name__)


@bp.get("/api/v2/users/me")
def me():
    """The authenticated user."""
    return {"user": user_json(g.sandbox_user, base_url())}


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
