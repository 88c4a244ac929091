"""Tickets API: create (single and create_many), show, update (single and update_many), comments, tags, incidents.

https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/
"""

from __future__ import annotations

from flask import Blueprint, g, request

from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, int_list, json_body, not_found
from zendesk_sandbox.jobs import MAX_INFLIGHT_JOBS, TooManyJobs
from zendesk_sandbox.paging import cursor_page, offset_page
from zendesk_sandbox.render import sideload_users, ticket_json, wants_users
from zendesk_sandbox.tickets import normalize_tags, via
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_tickets", __name__)
MAX_MANY = 100
_WRITE_ONLY = ("id", "safe_update", "updated_stamp")


@bp.post("/api/v2/tickets")
def create():
    """Create a ticket (the app creates its problem ticket this way)."""
    spec = _object(json_body(), "ticket")
    sandbox = current()
    outcome = sandbox.create_ticket(spec, actor_id=g.sandbox_user["id"], via=via("api"))
    with sandbox.state.lock:
        return {"ticket": ticket_json(sandbox.state, outcome.ticket, base_url()), "audit": outcome.audit}, 201


@bp.post("/api/v2/tickets/create_many")
def create_many():
    """Queue a job creating up to 100 tickets; each result is {"id", "index"} in the order sent."""
    tickets = json_body().get("tickets")
    if not isinstance(tickets, list) or not tickets or not all(isinstance(spec, dict) for spec in tickets):
        raise ApiError(400, "InvalidParameter", "The body needs a 'tickets' array of ticket objects")
    if len(tickets) > MAX_MANY:
        raise ApiError(400, "TooManyValues", f"You specified {len(tickets)} tickets; the limit is {MAX_MANY}")
    actor_id = g.sandbox_user["id"]
    items = [
        {"action": "create", "index": index, "spec": spec, "actor_id": actor_id} for index, spec in enumerate(tickets)
    ]
    return queue_job(items, "Bulk Create")


@bp.get("/api/v2/tickets")
def index():
    """List Tickets, oldest id first: cursor pages with page[size], else offset pages (at most 100).

    `external_id` lists the tickets with that external id ("External ids don't have to be unique for each
    ticket", List Tickets); unlike search, this reads the tickets themselves, with no indexing delay.
    """
    state = current().state
    external_id = request.args.get("external_id")
    with state.lock:
        found = sorted((ticket for ticket in state.tickets.values()
                        if external_id is None or ticket.get("external_id") == external_id),
                       key=lambda ticket: ticket["id"])

        def render(ticket: dict) -> dict:
            return ticket_json(state, ticket, base_url())

        if "page[size]" in request.args:
            return cursor_page(
                found, key="tickets", path="/api/v2/tickets", position=lambda t: [t["id"]], render=render
            )
        return offset_page(found, key="tickets", path="/api/v2/tickets", render=render)


@bp.get("/api/v2/tickets/<int:ticket_id>")
def show(ticket_id: int):
    """One ticket, optionally with include=users."""
    return _tickets_body([ticket_id], single=True)


@bp.get("/api/v2/tickets/show_many")
def show_many():
    """Up to 100 tickets by id; unknown ids are left out."""
    return _tickets_body(int_list(request.args.get("ids"), limit=MAX_MANY), single=False)


@bp.put("/api/v2/tickets/<int:ticket_id>")
def update(ticket_id: int):
    """Update one ticket now; safe_update + updated_stamp turn a stale write into 409."""
    spec = _object(json_body(), "ticket")
    stamp = spec.get("updated_stamp") if "safe_update" in spec else None
    return _update_now(ticket_id, _changes(spec), stamp)


@bp.put("/api/v2/tickets/update_many")
def update_many():
    """Queue a bulk (?ids= + ticket) or batch (tickets[]) update job."""
    body = json_body()
    sandbox = current()
    actor_id = g.sandbox_user["id"]
    # Safe update always applies to jobs: without a stamp, the time the job was queued is used.
    queued = iso(sandbox.now())
    if request.args.get("ids") is not None:
        spec = _object(body, "ticket")
        stamp = spec.get("updated_stamp") or queued
        changes = _changes(spec)
        ids = int_list(request.args.get("ids"), limit=MAX_MANY)
        items = [
            {"id": ticket_id, "changes": changes, "stamp": stamp, "exact": False, "actor_id": actor_id}
            for ticket_id in ids
        ]
    elif isinstance(body.get("tickets"), list):
        if len(body["tickets"]) > MAX_MANY:
            raise ApiError(
                400, "TooManyValues", f"You specified {len(body['tickets'])} tickets; the limit is {MAX_MANY}"
            )
        items = [_batch_item(spec, queued, actor_id) for spec in body["tickets"]]
    else:
        raise ApiError(400, "InvalidParameter", "Send ?ids= with a ticket object, or a tickets array")
    return queue_job(items, "Bulk Update")


def queue_job(items: list[dict], job_type: str):
    """Submit a job; 429 TooManyJobs past the in-flight limit, else its job_status with the jobs header."""
    sandbox = current()
    try:
        job = sandbox.jobs.submit(items, url_base=base_url(), job_type=job_type)
    except TooManyJobs as error:
        g.sandbox_limited = True
        return (
            {
                "error": "TooManyJobs",
                "description": "Too many TicketBulkUpdateJob jobs are currently queued or running. Try again later.",
                "current_job_ids": error.job_ids,
            },
            429,
            {"zendesk-ratelimit-inflight-jobs": f"total={MAX_INFLIGHT_JOBS}; remaining=0; resets=60"},
        )
    with sandbox.state.lock:
        remaining = MAX_INFLIGHT_JOBS - len(sandbox.jobs.inflight())
        return (
            {"job_status": job.as_json()},
            200,
            {"zendesk-ratelimit-inflight-jobs": f"total={MAX_INFLIGHT_JOBS}; remaining={remaining}; resets=60"},
        )


@bp.delete("/api/v2/tickets/<int:ticket_id>")
def delete(ticket_id: int):
    """Delete a ticket (204)."""
    state = current().state
    with state.lock:
        if state.ticket(ticket_id) is None:
            raise not_found()
        state.delete_ticket(ticket_id)
    return "", 204


@bp.delete("/api/v2/tickets/destroy_many")
def destroy_many():
    """Queue a job deleting up to 100 tickets by id (Bulk Delete Tickets)."""
    ids = int_list(request.args.get("ids"), limit=MAX_MANY)
    return queue_job([{"id": ticket_id, "action": "delete"} for ticket_id in ids], "Bulk Delete")


@bp.get("/api/v2/tickets/<int:ticket_id>/comments")
def comments(ticket_id: int):
    """A ticket's comments, oldest first."""
    state = current().state
    with state.lock:
        if state.ticket(ticket_id) is None:
            raise not_found()
        found = state.comments_for(ticket_id)
        return {"comments": found, "next_page": None, "previous_page": None, "count": len(found)}


@bp.get("/api/v2/tickets/<int:ticket_id>/tags")
def tags(ticket_id: int):
    """A ticket's tags."""
    state = current().state
    with state.lock:
        ticket = state.ticket(ticket_id)
        if ticket is None:
            raise not_found()
        return {"tags": list(ticket["tags"])}


@bp.post("/api/v2/tickets/<int:ticket_id>/tags")
def set_tags(ticket_id: int):
    """Tags API Set: replace all tags."""
    return _tags_write(ticket_id, "tags")


@bp.put("/api/v2/tickets/<int:ticket_id>/tags")
def add_tags(ticket_id: int):
    """Tags API Add: add tags, keep the others."""
    return _tags_write(ticket_id, "additional_tags")


@bp.delete("/api/v2/tickets/<int:ticket_id>/tags")
def remove_tags(ticket_id: int):
    """Tags API Remove: remove the given tags."""
    return _tags_write(ticket_id, "remove_tags")


@bp.get("/api/v2/tickets/<int:ticket_id>/incidents")
def incidents(ticket_id: int):
    """The incidents linked to a problem ticket."""
    state = current().state
    with state.lock:
        if state.ticket(ticket_id) is None:
            raise not_found()
        linked = [state.tickets[incident_id] for incident_id in sorted(state.incidents.get(ticket_id, ()))]
        rendered = [ticket_json(state, ticket, base_url()) for ticket in linked]
        return {"tickets": rendered, "next_page": None, "previous_page": None, "count": len(rendered)}


def _object(body: dict, key: str) -> dict:
    if not isinstance(body.get(key), dict):
        raise ApiError(400, "InvalidParameter", f"The body needs a {key!r} object")
    return body[key]


def _changes(spec: dict) -> dict:
    return {key: value for key, value in spec.items() if key not in _WRITE_ONLY}


def _batch_item(spec: object, queued: str, actor_id: int) -> dict:
    if not isinstance(spec, dict) or not isinstance(spec.get("id"), int):
        raise ApiError(400, "InvalidParameter", "Every ticket in tickets[] needs an integer id")
    item = {"id": spec["id"], "changes": _changes(spec), "stamp": queued, "exact": False, "actor_id": actor_id}
    if "safe_update" in spec:
        if not spec.get("updated_stamp"):
            # A batch item that asks for its own safe update must say which version it saw.
            item["error"] = {"error": "RecordInvalid", "details": "updated_stamp is required with safe_update"}
        item.update(stamp=spec.get("updated_stamp"), exact=True)
    return item


def _update_now(ticket_id: int, changes: dict, stamp: str | None):
    sandbox = current()
    outcome = sandbox.update_ticket(ticket_id, changes, actor_id=g.sandbox_user["id"], stamp=stamp)
    with sandbox.state.lock:
        return {"ticket": ticket_json(sandbox.state, outcome.ticket, base_url()), "audit": outcome.audit}


def _tags_write(ticket_id: int, operation: str):
    body = json_body()
    stamp = body.get("updated_stamp") if "safe_update" in body else None
    _update_now(ticket_id, {operation: normalize_tags(body.get("tags"))}, stamp)
    state = current().state
    with state.lock:
        return {"tags": list(state.tickets[ticket_id]["tags"])}


def _tickets_body(ids: list[int], *, single: bool) -> dict:
    state = current().state
    with state.lock:
        found = [state.tickets[ticket_id] for ticket_id in ids if ticket_id in state.tickets]
        if single and not found:
            raise not_found()
        rendered = [ticket_json(state, ticket, base_url()) for ticket in found]
        body: dict = {"ticket": rendered[0]} if single else {"tickets": rendered}
        if wants_users(request.args.get("include")):
            body["users"] = sideload_users(state, found, base_url())
        return body
