"""Builds the zenpy client: our own HTTP session, pointed at the configured base URL."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests
from zenpy import Zenpy

from app.config import Config
from app.errors import ZendeskAuthError, ZendeskHttpError, ZendeskRateLimited, ZendeskServerError

ZENDESK_HOST_SUFFIX = ".zendesk.com"
BODY_EXCERPT = 100  # enough to say what Zendesk objected to, never a whole payload


@dataclass
class RateLimitState:
    """What Zendesk's rate-limit headers last said, and how many calls we made."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, response: requests.Response) -> None:
        headers = response.headers
        with self._lock:
            self.calls += 1
            limit = headers.get("X-Rate-Limit") or headers.get("ratelimit-limit")
            remaining = headers.get("X-Rate-Limit-Remaining") or headers.get("ratelimit-remaining")
            reset = headers.get("ratelimit-reset")
            if limit and remaining:
                self.limit, self.remaining = int(limit), int(remaining)
            if reset:
                self.reset_seconds = float(reset)


class ZendeskSession(requests.Session):
    """A requests session that sends zenpy's calls to `base_url` and raises our errors.

    zenpy builds `https://{subdomain}.zendesk.com/api/v2/...`; we rewrite the origin so a
    sandbox or proxy works, per client instead of through zenpy's process-wide env vars.
    Error statuses become our exception types here, before zenpy would sleep on a 429.
    """

    def __init__(self, base_url: str, subdomain: str, rate_limit: RateLimitState):
        super().__init__()
        self._zendesk_origin = f"https://{subdomain}{ZENDESK_HOST_SUFFIX}"
        self._base_url = base_url.rstrip("/")
        self.rate_limit = rate_limit
        self.hooks["response"].append(self._check)

    def request(self, method, url, *args, **kwargs):
        if url.startswith(self._zendesk_origin):
            url = self._base_url + url[len(self._zendesk_origin):]
        return super().request(method, url, *args, **kwargs)

    def _check(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.rate_limit.record(response)
        status = response.status_code
        if status < 400:
            return response
        what = f"{response.request.method} {response.request.path_url.split('?')[0]}"
        message = f"Zendesk answered {status} to {what}: {response.text[:BODY_EXCERPT]}"
        if status in (401, 403):
            raise ZendeskAuthError(message, response)
        if status == 429:
            raise ZendeskRateLimited(message, response, _retry_after(response))
        if status >= 500:
            raise ZendeskServerError(message, response)
        raise ZendeskHttpError(message, response)


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def build_zenpy(config: Config, rate_limit: RateLimitState, timeout: float = 30.0) -> Zenpy:
    """A zenpy client on our session; auth from the config, never logged."""
    config.require_zendesk()
    subdomain = config.zendesk_subdomain or "sandbox"
    session = ZendeskSession(config.zendesk_base_url, subdomain, rate_limit)
    session.headers["User-Agent"] = "OutageDesk/0.1 (zenpy)"
    if config.zendesk_oauth_token:
        return Zenpy(subdomain=subdomain, oauth_token=config.zendesk_oauth_token, session=session,
                     disable_cache=True, timeout=timeout)
    return Zenpy(subdomain=subdomain, email=config.zendesk_email, token=config.zendesk_api_token,
                 session=session, disable_cache=True, timeout=timeout)
