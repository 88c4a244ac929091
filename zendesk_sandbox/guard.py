"""Per-request checks on /api/v2: authentication, rate limits, rate headers and the call log."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeVar

from flask import Response, g, jsonify, request

from zendesk_sandbox.context import Sandbox, current
from zendesk_sandbox.errors import forbidden
from zendesk_sandbox.state import AGENT_ROLES, API_USER_ID
from zendesk_sandbox.timefmt import iso

# Endpoint limits on top of the account limit (ZENDESK.md section 2): (window key, limit, seconds).
ENDPOINT_LIMITS = {
    "api_search.export": (("search_export",), 100, 60),
    "api_search.incremental_tickets": (("incremental_exports",), 10, 60),
    "api_incremental.tickets": (("incremental_exports",), 10, 60),
    # The Ticket Fields page: Update Ticket Field 75 per minute, Create or Update Ticket Field Option 100.
    "api_ticket_fields.update": (("ticket_fields_update",), 75, 60),
    "api_ticket_fields.upsert_option": (("ticket_field_options",), 100, 60),
}
# "Any PUT request that updates tickets": 100 per minute per account, 30 per 10 minutes per user and ticket.
TICKET_UPDATE_ENDPOINTS = ("api_tickets.update", "api_tickets.add_tags")
# Endpoints Zendesk documents as "Allowed for everyone": no credentials asked.
ANONYMOUS_ENDPOINTS = ("api_apps.public_key",)
# The Chat API takes only its own OAuth tokens, never Support's credentials: its blueprint checks them.
OWN_AUTH_BLUEPRINTS = ("api_chat_settings",)
RATE_LIMITED_BODY = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed API requests per minute exceeded",
}


def before_request() -> Response | None:
    """Authenticate and rate-limit API requests; /_sandbox/ requests pass untouched."""
    if not request.path.startswith("/api/v2/") or request.endpoint in ANONYMOUS_ENDPOINTS \
            or request.blueprint in OWN_AUTH_BLUEPRINTS:
        return None
    sandbox = current()
    user = _authenticate(sandbox)
    if user is None:
        return _json({"error": "Couldn't authenticate you"}, 401)
    g.sandbox_user = user
    account, refused = sandbox.limiter.admit(_endpoint_windows(user))
    g.sandbox_rate = account
    verdict = refused or (None if account.allowed else account)
    if verdict is None:
        return None
    g.sandbox_limited = True
    response = _json(RATE_LIMITED_BODY, 429)
    response.headers["Retry-After"] = str(verdict.retry_after)
    if request.endpoint in TICKET_UPDATE_ENDPOINTS and refused is not None:
        response.headers["Zendesk-RateLimit-tickets-update"] = (
            f"total={verdict.limit}; remaining=0; resets={verdict.retry_after}"
        )
    return response


def after_request(response: Response) -> Response:
    """Add the rate-limit headers and log the call (429s included, flagged)."""
    if "sandbox_user" not in g:
        return response
    rate = g.sandbox_rate
    response.headers["X-Rate-Limit"] = str(rate.limit)
    response.headers["X-Rate-Limit-Remaining"] = str(rate.remaining)
    response.headers["ratelimit-limit"] = str(rate.limit)
    response.headers["ratelimit-remaining"] = str(rate.remaining)
    response.headers["ratelimit-reset"] = str(rate.reset)
    sandbox = current()
    sandbox.state.record_call(
        {
            "method": request.method,
            "endpoint": f"{request.method} {_route()}",
            "path": request.full_path.rstrip("?"),
            "status": response.status_code,
            "rate_limited": g.get("sandbox_limited", False),
            "fault": g.sandbox_fault.kind if "sandbox_fault" in g else None,
            "user_id": g.sandbox_user["id"],
            "at": iso(sandbox.now()),
        }
    )
    return response


View = TypeVar("View", bound=Callable)


def admin_only(view: View) -> View:
    """Refuse the view to agents: 403, after authentication and rate limiting, and still logged."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if g.sandbox_user["role"] != "admin":
            raise forbidden()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def _authenticate(sandbox: Sandbox) -> dict | None:
    """`{email}/token` + API token (any agent's email, as Zendesk tokens allow) or Bearer token."""
    auth = request.authorization
    if auth is None:
        return None
    if auth.type == "bearer":
        return sandbox.state.user(API_USER_ID) if auth.token == sandbox.api_token else None
    username, password = auth.username or "", auth.password or ""
    if auth.type != "basic" or not username.endswith("/token") or password != sandbox.api_token:
        return None
    user = sandbox.state.user_by_email(username.removesuffix("/token"))
    return user if user and user["role"] in AGENT_ROLES else None


def _endpoint_windows(user: dict) -> list[tuple[tuple, int, float]]:
    windows = []
    if request.endpoint in ENDPOINT_LIMITS:
        windows.append(ENDPOINT_LIMITS[request.endpoint])
    if request.endpoint in TICKET_UPDATE_ENDPOINTS:
        ticket_id = (request.view_args or {}).get("ticket_id")
        windows.append((("tickets_update",), 100, 60))
        windows.append((("ticket_update", user["id"], ticket_id), 30, 600))
    return windows


def _route() -> str:
    """The matched route with placeholders, e.g. /api/v2/tickets/{ticket_id}."""
    if request.url_rule is None:
        return request.path
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", request.url_rule.rule)


def _json(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
