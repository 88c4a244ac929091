"""Request hooks that apply the injected faults (zendesk_sandbox.faults) to authenticated /api/v2 calls.

Rate limits and Retry-After: https://developer.zendesk.com/api-reference/introduction/rate-limits/
"""

from __future__ import annotations

import json

from flask import Response, g, request

from zendesk_sandbox.context import current
from zendesk_sandbox.faults import Verdict, drip, gateway_page
from zendesk_sandbox.guard import RATE_LIMITED_BODY

READS = ("GET", "HEAD")


def before_request() -> Response | None:
    """Refuse the request outright (5xx, 429, a malformed answer to a write) or mark it for after_request.

    A refused request is never carried out, not even partly: a refused update_many queues no job.
    """
    if "sandbox_user" not in g:
        return None  # not an API call, or already refused by authentication or the rate limiter
    verdict = current().faults.for_request()
    if verdict.kind is None:
        return None
    g.sandbox_fault = verdict
    if verdict.kind == "server_error":
        return _server_error(verdict.status)
    if verdict.kind == "rate_limit":
        g.sandbox_limited = True
        response = _json(RATE_LIMITED_BODY, 429)
        response.headers["Retry-After"] = str(current().faults.faults.retry_after)
        return response
    if verdict.kind == "malformed" and request.method not in READS:
        # A write answered by something that is not the API never reached it: nothing is applied.
        return _json({}, 200)
    return None


def after_request(response: Response) -> Response:
    """Mangle, replace, hold back or drip the answer of a request marked by before_request."""
    verdict: Verdict | None = g.get("sandbox_fault")
    if verdict is None or verdict.kind in ("server_error", "rate_limit"):
        return response
    sandbox = current()
    if verdict.kind == "malformed":
        return _malformed(response, verdict.variant)
    if verdict.kind == "lost_answer":
        # The request was carried out in full; only its answer is lost on the way back.
        stall = sandbox.faults.faults.lost_answer_stall
        if stall:
            sandbox.clock.sleep(stall)
        return _html(gateway_page(verdict.status), verdict.status)
    body = response.get_data()
    response.response = drip(body, sandbox.faults.faults.drip_delay, sandbox.clock.sleep)
    response.headers["Content-Length"] = str(len(body))
    return response


def _server_error(status: int) -> Response:
    if status == 500:
        return _json({"error": "InternalError", "description": "Something went wrong. Please try again."}, 500)
    response = _html(gateway_page(status), status)
    if status == 503:
        response.headers["Retry-After"] = str(current().faults.faults.retry_after)
    return response


def _malformed(response: Response, variant: str) -> Response:
    if variant == "html":
        return _html("<!DOCTYPE html><html><body><h1>We'll be right back</h1></body></html>", 200)
    body = response.get_data()
    cut = body[: len(body) // 2] if variant == "truncated" else b""
    return Response(cut, 200, content_type="application/json; charset=utf-8")


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body), status, content_type="application/json; charset=utf-8")


def _html(page: str, status: int) -> Response:
    return Response(page, status, content_type="text/html; charset=utf-8")
