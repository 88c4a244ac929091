"""Incremental Exports API, time-based: tickets changed since start_time, a page at a time (admins only).

Follows developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/: pages of
at most 1000 (per_page), the most recent minute left out, next_page and end_time carrying the
start_time of the next page, end_of_stream once caught up. The cursor-based export is in api_search.
"""

from __future__ import annotations

from flask import Blueprint, request

from zendesk_sandbox.api_search import INCREMENTAL_LAG, INCREMENTAL_PAGE_SIZE
from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, int_arg
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import page_url
from zendesk_sandbox.render import sideload_users, ticket_json, wants_users
from zendesk_sandbox.timefmt import parse_iso

bp = Blueprint("api_incremental", __name__)


@bp.get("/api/v2/incremental/tickets")
@admin_only
def tickets():
    """Tickets whose last change is at or after start_time, oldest first."""
    raw = request.args.get("start_time")
    if raw is None or not raw.isdigit():
        raise ApiError(400, "InvalidValue", "start_time (a Unix time in seconds) is required")
    per_page = int_arg("per_page", INCREMENTAL_PAGE_SIZE, high=INCREMENTAL_PAGE_SIZE)
    sandbox = current()
    horizon = sandbox.now().timestamp() - INCREMENTAL_LAG
    if int(raw) > horizon:
        raise ApiError(400, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute")
    with sandbox.state.lock:
        rows = sorted(
            (stamp, ticket["id"])
            for ticket in sandbox.state.tickets.values()
            if int(raw) <= (stamp := int(parse_iso(ticket["updated_at"]).timestamp())) < horizon
        )
        page = rows[:per_page]
        if page:
            # Finish the last second so the next page, starting one second later, skips no ticket.
            page += [row for row in rows[per_page:] if row[0] == page[-1][0]]
        end_time = page[-1][0] + 1 if page else int(raw)
        found = [sandbox.state.tickets[ticket_id] for _, ticket_id in page]
        params = {key: value for key, value in request.args.items() if key != "start_time"}
        body = {
            "tickets": [ticket_json(sandbox.state, ticket, base_url()) for ticket in found],
            "next_page": page_url("/api/v2/incremental/tickets", {**params, "start_time": end_time}),
            "count": len(found),
            "end_of_stream": len(page) == len(rows),
            "end_time": end_time,
        }
        if wants_users(request.args.get("include")):
            body["users"] = sideload_users(sandbox.state, found, base_url())
        return body
