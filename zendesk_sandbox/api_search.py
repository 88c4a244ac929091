"""Search, search count, search export and the cursor-based incremental ticket export.

https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/ and
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
"""

from __future__ import annotations

import bisect
import hashlib
from datetime import datetime, timedelta, timezone

from flask import Blueprint, g, request

from zendesk_sandbox.context import Sandbox, base_url, current
from zendesk_sandbox.errors import ApiError, int_arg
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import decode_cursor, encode_cursor, page_url
from zendesk_sandbox.render import sideload_users, ticket_json, wants_users
from zendesk_sandbox.search_match import Matcher
from zendesk_sandbox.search_query import ParsedQuery, QuerySyntaxError, parse_query
from zendesk_sandbox.ticket_values import PRIORITIES, STATUSES
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_search", __name__)
SEARCH_RESULT_LIMIT = 1000
SEARCH_PAGE_SIZE = 100
EXPORT_PAGE_SIZE = 100
EXPORT_MAX_PAGE_SIZE = 1000
EXPORT_CURSOR_TTL = 3600
INCREMENTAL_PAGE_SIZE = 1000
INCREMENTAL_LAG = 60
_SORT_KEYS = {
    "created_at": lambda t: (t["created_at"], t["id"]),
    "updated_at": lambda t: (t["updated_at"], t["id"]),
    "priority": lambda t: (PRIORITIES.index(t["priority"]) if t["priority"] else -1, t["id"]),
    "status": lambda t: (STATUSES.index(t["status"]), t["id"]),
    "ticket_type": lambda t: (t["type"] or "", t["id"]),
}


@bp.get("/api/v2/search")
def search():
    """Offset-paged search: at most 100 per page and 1,000 results in all; count is the true total."""
    query = _parsed_query()
    per_page = int_arg("per_page", SEARCH_PAGE_SIZE, high=SEARCH_PAGE_SIZE)
    page = int_arg("page", 1)
    if page * per_page > SEARCH_RESULT_LIMIT:
        raise ApiError(
            422, "invalid", "Invalid search: Requested response size was greater than Search Response Limits"
        )
    sandbox = current()
    with sandbox.state.lock:
        found = _matching(sandbox, _matcher(sandbox, query))
        order_by = request.args.get("sort_by") or query.order_by or "created_at"
        descending = (request.args.get("sort_order") or query.sort or "desc") != "asc"
        found.sort(key=_SORT_KEYS.get(order_by, _SORT_KEYS["created_at"]), reverse=descending)
        chunk = found[(page - 1) * per_page : page * per_page]
        params = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
        body = {
            "results": [_result(sandbox, ticket) for ticket in chunk],
            "facets": None,
            "next_page": page_url("/api/v2/search", {**params, "page": page + 1, "per_page": per_page})
            if page * per_page < len(found)
            else None,
            "previous_page": page_url("/api/v2/search", {**params, "page": page - 1, "per_page": per_page})
            if page > 1
            else None,
            "count": len(found),
        }
        if wants_users(request.args.get("include")):
            body["users"] = sideload_users(sandbox.state, chunk, base_url())
        return body


@bp.get("/api/v2/search/count")
def search_count():
    """How many tickets match."""
    query = _parsed_query()
    sandbox = current()
    with sandbox.state.lock:
        return {"count": len(_matching(sandbox, _matcher(sandbox, query)))}


@bp.get("/api/v2/search/export")
def export():
    """Cursor-paged export ordered by created_at: filter[type] required, no type: in the query."""
    kind = request.args.get("filter[type]")
    if not kind:
        raise ApiError(400, "InvalidParameter", "filter[type] is required (ticket, organization, user or group)")
    if kind != "ticket":
        raise ApiError(400, "InvalidParameter", "The sandbox exports only filter[type]=ticket")
    query = _parsed_query()
    if query.has_type_keyword:
        raise ApiError(
            400, "InvalidParameter", "Searches with type in the query string are not allowed; use filter[type]"
        )
    size = int_arg("page[size]", EXPORT_PAGE_SIZE)
    if size > EXPORT_MAX_PAGE_SIZE:
        raise ApiError(400, "InvalidParameter", f"page[size] must be at most {EXPORT_MAX_PAGE_SIZE}")
    fingerprint = hashlib.sha256(query.source.encode()).hexdigest()[:16]
    sandbox = current()
    now = sandbox.now().timestamp()
    with sandbox.state.lock:
        matcher = _matcher(sandbox, query)
        order = sandbox.state.created_order()
        start = 0
        if request.args.get("page[after]"):
            start = bisect.bisect_right(order, _export_position(request.args["page[after]"], fingerprint, now))
        found: list[dict] = []
        # One pass from the cursor: each page costs what it reads, never the whole account.
        for index in range(start, len(order)):
            ticket = _visible(sandbox, order[index][1], matcher)
            if ticket is not None:
                found.append(ticket)
                if len(found) > size:
                    break
        page, has_more = found[:size], len(found) > size
        cursor = None
        if has_more:
            last = page[-1]
            cursor = encode_cursor(
                {"c": last["created_at"], "i": last["id"], "q": fingerprint, "e": int(now) + EXPORT_CURSOR_TTL}
            )
        params = {k: v for k, v in request.args.items() if k != "page[after]"}
        body = {
            "results": [_result(sandbox, ticket) for ticket in page],
            "facets": None,
            "meta": {"has_more": has_more, "after_cursor": cursor, "before_cursor": None},
            "links": {
                "next": page_url("/api/v2/search/export", {**params, "page[after]": cursor}) if cursor else None,
                "prev": None,
            },
        }
        if wants_users(request.args.get("include")):
            body["users"] = sideload_users(sandbox.state, page, base_url())
        return body


@bp.get("/api/v2/incremental/tickets/cursor")
@admin_only
def incremental_tickets():
    """Tickets changed since start_time (or a cursor), oldest change first; admins only."""
    per_page = int_arg("per_page", INCREMENTAL_PAGE_SIZE, high=INCREMENTAL_PAGE_SIZE)
    sandbox = current()
    now = sandbox.now()
    position = _incremental_position(now)
    # The most recent minute is never exported.
    horizon = iso(now - timedelta(seconds=INCREMENTAL_LAG))
    with sandbox.state.lock:
        rows = sorted(
            (ticket["updated_at"], ticket["id"])
            for ticket in sandbox.state.tickets.values()
            if ticket["updated_at"] < horizon
        )
        start = bisect.bisect_right(rows, position)
        chunk = rows[start : start + per_page]
        last = chunk[-1] if chunk else position
        cursor = encode_cursor({"u": last[0], "i": last[1]})
        params = {k: v for k, v in request.args.items() if k not in ("start_time", "cursor")}
        found = [sandbox.state.tickets[ticket_id] for _, ticket_id in chunk]
        body = {
            "tickets": [ticket_json(sandbox.state, ticket, base_url()) for ticket in found],
            "after_url": page_url("/api/v2/incremental/tickets/cursor", {**params, "cursor": cursor}),
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": start + per_page >= len(rows),
        }
        if wants_users(request.args.get("include")):
            body["users"] = sideload_users(sandbox.state, found, base_url())
        return body


def _parsed_query() -> ParsedQuery:
    raw = request.args.get("query", "")
    if not raw.strip():
        raise ApiError(400, "InvalidParameter", "Parameter query is required")
    try:
        return parse_query(raw)
    except QuerySyntaxError as error:
        raise ApiError(400, "invalid", f"Invalid search: {error}") from None


def _matcher(sandbox: Sandbox, query: ParsedQuery) -> Matcher:
    try:
        return Matcher(query, sandbox.state, me_id=g.sandbox_user["id"], now=sandbox.now())
    except QuerySyntaxError as error:
        raise ApiError(400, "invalid", f"Invalid search: {error}") from None


def _visible(sandbox: Sandbox, ticket_id: int, matcher: Matcher) -> dict | None:
    """The ticket as indexed, if search has it and the query finds it; results show it as indexed."""
    ticket = sandbox.indexed(ticket_id)
    return ticket if ticket is not None and matcher.matches(ticket) else None


def _matching(sandbox: Sandbox, matcher: Matcher) -> list[dict]:
    found = (_visible(sandbox, ticket_id, matcher) for ticket_id in list(sandbox.state.tickets))
    return [ticket for ticket in found if ticket is not None]


def _result(sandbox: Sandbox, ticket: dict) -> dict:
    return {**ticket_json(sandbox.state, ticket, base_url()), "result_type": "ticket"}


def _export_position(token: str, fingerprint: str, now: float) -> tuple[str, int]:
    data = decode_cursor(token)
    if data.get("q") != fingerprint or not isinstance(data.get("c"), str) or not isinstance(data.get("i"), int):
        raise ApiError(400, "InvalidPaginationParameter", "The cursor does not belong to this search")
    if now > data.get("e", 0):
        raise ApiError(400, "InvalidPaginationParameter", "The cursor has expired (cursors last one hour)")
    return data["c"], data["i"]


def _incremental_position(now: datetime) -> tuple[str, int]:
    if request.args.get("cursor"):
        data = decode_cursor(request.args["cursor"])
        if not isinstance(data.get("u"), str) or not isinstance(data.get("i"), int):
            raise ApiError(400, "InvalidPaginationParameter", "The cursor is invalid")
        return data["u"], data["i"]
    raw = request.args.get("start_time")
    if raw is None or not raw.isdigit():
        raise ApiError(400, "InvalidValue", "start_time (a Unix time in seconds) or cursor is required")
    if int(raw) > now.timestamp() - INCREMENTAL_LAG:
        raise ApiError(400, "InvalidValue", "Too recent start_time. Use a start_time older than 1 minute")
    # (stamp, 0) sorts before every ticket changed at that second, so start_time is inclusive.
    return iso(datetime.fromtimestamp(int(raw), tz=timezone.utc)), 0
