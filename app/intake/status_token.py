"""The status page webhook's secret token: Statuspage does not sign its webhooks, so the URL carries one."""

from __future__ import annotations

import hmac
import secrets

from app.errors import SignatureError

TOKEN_BYTES = 32


class StatusToken:
    """Checks the token of a status page delivery against the one `outage-desk status-webhook` stored."""

    def __init__(self, expected: str | None):
        self._expected = expected.encode() if expected else None

    @staticmethod
    def new() -> str:
        """A fresh token: 256 random bits, URL-safe, so it sits in the webhook's path as it is."""
        return secrets.token_urlsafe(TOKEN_BYTES)

    def verify(self, token: str | None) -> None:
        """:raises SignatureError: no token set up, none given, or not ours (compared in constant time)."""
        if self._expected is None:
            raise SignatureError("the status page webhook is not set up: run `outage-desk status-webhook`")
        if not token or not hmac.compare_digest(token.encode(), self._expected):
            raise SignatureError("wrong or missing status page webhook token")
