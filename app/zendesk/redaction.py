"""Credentials out of any text from Zendesk that may reach a message or a log line.

Messages name the call and the status rather than quote Zendesk's answers; what text of theirs
still gets through (an error code, a job's reason for a ticket, a value that failed to convert)
passes here first, because a proxy in between may echo the request's credentials into it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_CHAR = r"[A-Za-z0-9._~+/=-]"  # a credential's characters (RFC 7235's token68)
# Each keeps its first group, which says what was there.
_CREDENTIALS = (
    # An Authorization header as text or JSON, whatever its scheme.
    re.compile(rf"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer|token)\s+)?{_CHAR}+"),
    # A Basic or Bearer credential anywhere: long enough not to be a word ("Basic authentication").
    re.compile(rf"(?i)\b((?:basic|bearer)\s+){_CHAR}{{16,}}"),
    # Zendesk's API token login, "agent@example.com/token", with or without its ":<token>".
    re.compile(rf"()[\w.+-]+@[\w.-]+/token(?::{_CHAR}+)?"),
)
MIN_SECRET = 8  # shorter values would redact ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every credential-shaped part, and each of `secrets`, replaced by [redacted]."""
    for pattern in _CREDENTIALS:
        text = pattern.sub(rf"\g<1>{REDACTED}", text)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, REDACTED)
    return text
