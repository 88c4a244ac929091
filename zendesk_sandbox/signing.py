"""How Zendesk signs a webhook request: base64(HMAC-SHA256(signing secret, timestamp + raw body)).

https://developer.zendesk.com/documentation/webhooks/verifying/ — the secret is the HMAC key as is
(not base64-decoded), the timestamp and body are joined with no separator, and the two values go in
the X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from zendesk_sandbox.timefmt import iso

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of one request."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(secret: str, body: bytes, at: datetime) -> dict[str, str]:
    """The two signature headers for `body` sent at `at`."""
    timestamp = iso(at)
    return {SIGNATURE_HEADER: signature(secret, timestamp, body), TIMESTAMP_HEADER: timestamp}
