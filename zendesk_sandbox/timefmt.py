"""Zendesk's timestamp format: second precision, UTC, trailing Z."""

from __future__ import annotations

from datetime import datetime, timezone

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(moment: datetime) -> str:
    """Format an aware datetime the way Zendesk does ("2026-11-22T10:00:00Z")."""
    return moment.astimezone(timezone.utc).strftime(ISO_FORMAT)


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; zone-less values are taken as UTC.

    :raises ValueError: not an ISO 8601 timestamp.
    """
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
