"""The gateway's raw requests to Zendesk: one small transport on the session zenpy authorizes.

Why it exists: the gateway must see Zendesk's answer as sent (to check its shape, retry a
malformed one with the request, follow `links.next` itself, read PEM text and empty bodies),
and zenpy's public API only hands back parsed objects from generators it pages through
itself. zenpy has no public raw-request method, so instead of its private `_get`,
`_call_api` and `_build_url` we send through the same :class:`ZendeskSession` zenpy was
given: zenpy's constructor (its public `session=` argument) puts the account's auth on it,
and the session itself rewrites zenpy's origin to the configured base URL, bounds each
exchange by the deadline and maps error statuses to our exception types.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests

from app.config import Config
from app.zendesk.client import RateLimitState, ZendeskSession, build_session

API_PREFIX = "/api/v2/"


class ZendeskTransport:
    """GET, POST, PUT and PATCH on `{base_url}/api/v2/...` through the authorized session."""

    def __init__(self, session: ZendeskSession):
        self._session = session

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The full URL of `path` under /api/v2/; `params` are sent as given (already encoded)."""
        query = "&".join(f"{key}={value}" for key, value in (params or {}).items())
        return f"{self._session.base_url}{API_PREFIX}{path}{'?' + query if query else ''}"

    def get(self, url: str) -> requests.Response:
        return self._session.get(url)

    def send(self, method: str, url: str, payload: dict[str, Any] | None,
             auth: requests.auth.AuthBase | None = None) -> requests.Response:
        """`method` with `payload` as JSON; `auth` replaces the session's for this request only."""
        return self._session.request(method, url, json=payload, auth=auth)

    def redact(self, text: str) -> str:
        """`text` without our credentials, for a message or a log."""
        return self._session.redact(text)


def build_transport(config: Config, rate_limit: RateLimitState,
                    stop: threading.Event | None = None) -> ZendeskTransport:
    """The transport on a new authorized session (see :func:`build_session`)."""
    return ZendeskTransport(build_session(config, rate_limit, stop))
