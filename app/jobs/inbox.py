"""Drain the webhook inbox: the worker's side of acknowledge-fast, work-after."""

from __future__ import annotations

import logging

from app.errors import OutageDeskError
from app.incident.intake import IntakeReport
from app.incident.service import OutageDesk

log = logging.getLogger(__name__)


def drain_inbox(desk: OutageDesk) -> IntakeReport:
    """Process stored events in batches until none is left; a failed batch stays for the next run."""
    total = IntakeReport()
    while True:
        try:
            report = desk.take_in_pending()
        except OutageDeskError as error:
            log.warning("jobs.inbox-retry-later", extra={"error": str(error)})
            return total
        if not report.events:
            return total
        for name in ("events", "taken_in", "reopened", "ignored", "unknown", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
