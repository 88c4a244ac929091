"""Zendesk webhook signatures: base64(HMAC-SHA256(secret, timestamp + raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from app.clock import Clock, SystemClock
from app.errors import SignatureError

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
# Zendesk documents no replay window; five minutes is Slack's and Stripe's choice.
MAX_SKEW_SECONDS = 300


class ZendeskSignature:
    """Signs and verifies webhook deliveries with one webhook's signing secret."""

    def __init__(self, secret: str, clock: Clock | None = None, max_skew: int = MAX_SKEW_SECONDS):
        # Zendesk uses the secret string as the key as it is, never base64-decoded.
        self._key = secret.encode()
        self._clock = clock or SystemClock()
        self._max_skew = max_skew

    def sign(self, timestamp: str, raw_body: bytes) -> str:
        """Return the signature Zendesk would send for this timestamp and body."""
        digest = hmac.new(self._key, timestamp.encode() + raw_body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def headers(self, raw_body: bytes) -> dict[str, str]:
        """Signature headers for a delivery made now (used by the sandbox and tests)."""
        timestamp = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: self.sign(timestamp, raw_body)}

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> None:
        """Check the signature and the timestamp's freshness.

        :raises SignatureError: missing, malformed, stale or wrong signature.
        """
        signature = headers.get(SIGNATURE_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise SignatureError("missing webhook signature headers")
        try:
            sent_at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise SignatureError("malformed webhook signature timestamp") from None
        if sent_at.tzinfo is None:
            raise SignatureError("webhook signature timestamp has no time zone")
        if abs((self._clock.now() - sent_at).total_seconds()) > self._max_skew:
            raise SignatureError("stale webhook signature timestamp")
        # compare_digest refuses non-ASCII strings; such a header is simply not our signature.
        if not signature.isascii() or not hmac.compare_digest(self.sign(timestamp, raw_body), signature):
            raise SignatureError("webhook signature does not match")
