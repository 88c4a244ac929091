"""SLA Policies API: list, show, create, update, reorder (admins only, as documented).

developer.zendesk.com/api-reference/ticketing/business-rules/sla_policies/; the policies and how the
sandbox measures them are in zendesk_sandbox.sla.
"""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox import sla
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import json_body, not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_sla_policies", __name__)


def _json(policy: dict) -> dict:
    return {"url": f"{base_url()}/api/v2/slas/policies/{policy['id']}.json", **policy}


@bp.get("/api/v2/slas/policies")
@admin_only
def index():
    """Every policy in match order (the endpoint is not paginated)."""
    state = current().state
    with state.lock:
        return {"sla_policies": [_json(p) for p in sla.ordered(state)], "next_page": None, "previous_page": None,
                "count": len(state.sla_policies)}


@bp.get("/api/v2/slas/policies/<int:policy_id>")
@admin_only
def show(policy_id: int):
    return {"sla_policy": _json(_policy(policy_id))}


@bp.post("/api/v2/slas/policies")
@admin_only
def create():
    sandbox = current()
    with sandbox.state.lock:
        policy = sla.create_policy(sandbox.state, resource_body("sla_policy"), now=iso(sandbox.now()))
        return {"sla_policy": _json(policy)}, 201


@bp.put("/api/v2/slas/policies/<int:policy_id>")
@admin_only
def update(policy_id: int):
    sandbox = current()
    with sandbox.state.lock:
        policy = sla.update_policy(sandbox.state, _policy(policy_id), resource_body("sla_policy"),
                                   now=iso(sandbox.now()))
        return {"sla_policy": _json(policy)}


@bp.put("/api/v2/slas/policies/reorder")
@admin_only
def reorder():
    """{"sla_policy_ids": [...]}: the new match order."""
    state = current().state
    with state.lock:
        sla.reorder(state, json_body().get("sla_policy_ids"))
    return "", 200


def _policy(policy_id: int) -> dict:
    policy = current().state.sla_policies.get(policy_id)
    if policy is None:
        raise not_found()
    return policy
