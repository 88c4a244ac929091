"""Webhooks API (admins only): list, create, show, update, patch, delete and the signing secret.

Triggers' notification_webhook actions invoke these records (zendesk_sandbox.webhooks).
Invalid bodies get 400 with an `errors` list, the newer APIs' shape (see zendesk_sandbox.validation).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, g, request

from zendesk_sandbox import webhook_records
from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import cursor_page
from zendesk_sandbox.timefmt import iso
from zendesk_sandbox.validation import Problems

bp = Blueprint("api_webhooks", __name__)
SORTS = {"name": lambda w: (w["name"], w["id"]), "status": lambda w: (w["status"], w["id"])}


@bp.get("/api/v2/webhooks")
@admin_only
def index():
    """Webhooks, newest first or ?sort=name|status; filter[name_contains] (any case) and filter[status]."""
    sort = request.args.get("sort")
    if sort is not None and sort not in SORTS:
        raise ApiError.with_body(400, {"errors": [{"code": "InvalidValue", "title": "sort must be name or status"}]})
    contains = (request.args.get("filter[name_contains]") or "").casefold()
    status = request.args.get("filter[status]")
    with current().state.lock:
        webhooks = [
            webhook
            for webhook in current().state.webhooks.values()
            if contains in webhook["name"].casefold() and status in (None, webhook["status"])
        ]
    if sort:
        webhooks.sort(key=SORTS[sort])
    else:
        webhooks.reverse()  # newest first: the store keeps creation order
    rank = {webhook["id"]: index for index, webhook in enumerate(webhooks)}
    body = cursor_page(
        webhooks,
        key="webhooks",
        path="/api/v2/webhooks",
        position=lambda webhook: [rank[webhook["id"]]],
        render=webhook_records.webhook_json,
        suffix="",  # the Webhooks API answers 404 to .json paths
    )
    if not body["meta"]["has_more"]:
        # Zendesk's last page carries only {"meta": {"has_more": false}}.
        body = {"webhooks": body["webhooks"], "meta": {"has_more": False}}
    return body


@bp.post("/api/v2/webhooks")
@admin_only
def create():
    """Create a webhook (201), or with ?clone_webhook_id= a copy of one; the secret is shown only by signing_secret."""
    sandbox = current()
    if "clone_webhook_id" in request.args:
        original = _webhook(request.args["clone_webhook_id"])
        # Zendesk names the copy "<name> (copy)"; it gets its own id and signing secret.
        attributes = {**webhook_records.writable(original), "name": f"{original['name']} (copy)"}
    else:
        attributes = webhook_records.writable(resource_body("webhook"))
    attributes.setdefault("subscriptions", [])
    problems = Problems()
    webhook_records.check(attributes, problems)
    problems.raise_error_list()
    now = sandbox.now()
    webhook = _record(
        attributes,
        webhook_id=webhook_records.new_id(now),
        created=(iso(now), str(g.sandbox_user["id"])),
        updated=None,
        signing_secret=webhook_records.new_secret(),
    )
    with sandbox.state.lock:
        sandbox.state.webhooks[webhook["id"]] = webhook
    return {"webhook": webhook_records.webhook_json(webhook)}, 201


@bp.get("/api/v2/webhooks/<webhook_id>")
@admin_only
def show(webhook_id: str):
    """One webhook."""
    return {"webhook": webhook_records.webhook_json(_webhook(webhook_id))}


@bp.put("/api/v2/webhooks/<webhook_id>")
@admin_only
def update(webhook_id: str):
    """Replace a webhook's attributes (204); what is omitted is cleared, except its subscriptions."""
    attributes = webhook_records.writable(resource_body("webhook"))
    return _change(webhook_id, lambda was: {"subscriptions": was["subscriptions"], **attributes})


@bp.patch("/api/v2/webhooks/<webhook_id>")
@admin_only
def patch(webhook_id: str):
    """Change only the attributes sent (204); null removes an optional one."""
    changes = webhook_records.writable(resource_body("webhook"))

    def merged(was: dict) -> dict:
        attributes = {**webhook_records.writable(was), **changes}
        return {name: value for name, value in attributes.items() if value is not None}

    return _change(webhook_id, merged)


@bp.delete("/api/v2/webhooks/<webhook_id>")
@admin_only
def delete(webhook_id: str):
    """Delete a webhook (204)."""
    state = current().state
    with state.lock:
        _webhook(webhook_id)
        del state.webhooks[webhook_id]
    return "", 204


@bp.get("/api/v2/webhooks/<webhook_id>/signing_secret")
@admin_only
def signing_secret(webhook_id: str):
    """The webhook's signing secret."""
    return {"signing_secret": _webhook(webhook_id)["signing_secret"]}


@bp.post("/api/v2/webhooks/<webhook_id>/signing_secret")
@admin_only
def reset_signing_secret(webhook_id: str):
    """A new signing secret (201); the old one stops working at once."""
    with current().state.lock:
        webhook = _webhook(webhook_id)
        webhook["signing_secret"] = webhook_records.new_secret()
        return {"signing_secret": webhook["signing_secret"]}, 201


def _change(webhook_id: str, attributes_from: Callable[[dict], dict]) -> tuple[str, int]:
    """Check and store a webhook's new attributes, computed from the stored webhook."""
    sandbox = current()
    with sandbox.state.lock:
        was = _webhook(webhook_id)
        attributes = attributes_from(was)
        problems = Problems()
        webhook_records.check(attributes, problems, was=was)
        problems.raise_error_list()
        sandbox.state.webhooks[webhook_id] = _record(
            attributes,
            webhook_id=webhook_id,
            created=(was["created_at"], was["created_by"]),
            updated=(iso(sandbox.now()), str(g.sandbox_user["id"])),
            signing_secret=was["signing_secret"],
        )
    return "", 204


def _record(
    attributes: dict,
    *,
    webhook_id: str,
    created: tuple[str, str],
    updated: tuple[str, str] | None,
    signing_secret: dict,
) -> dict:
    """A stored webhook, keys in the order Zendesk shows them; unset optional attributes are left out."""
    fields = {
        "id": webhook_id,
        "name": attributes["name"],
        "description": attributes.get("description"),
        "status": attributes["status"],
        "subscriptions": attributes["subscriptions"],
        "created_at": created[0],
        "created_by": created[1],
        "updated_at": updated[0] if updated else None,
        "updated_by": updated[1] if updated else None,
        "endpoint": attributes["endpoint"],
        "http_method": attributes["http_method"],
        "request_format": attributes["request_format"],
        "authentication": attributes.get("authentication"),
        "custom_headers": attributes.get("custom_headers"),
    }
    return {**{key: value for key, value in fields.items() if value is not None}, "signing_secret": signing_secret}


def _webhook(webhook_id: str) -> dict:
    webhook = current().state.webhooks.get(webhook_id)
    if webhook is None:
        raise ApiError.with_body(404, {"errors": [{"code": "RecordNotFound", "title": "Webhook not found"}]})
    return webhook
