"""URLs checked as manifest.rb checks them with Ruby's URI."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit


def valid_http_url(value: Any) -> bool:
    """manifest.rb valid_url?: parses as URI::HTTP(S) with a host."""
    if not isinstance(value, str) or not rfc3986(value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc.rpartition("@")[2].split(":")[0])


def rfc3986(value: str) -> bool:
    # Ruby's URI.parse refuses characters outside RFC 3986 (spaces, quotes, non-ASCII) and bad escapes.
    return re.fullmatch(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*", value) is not None
