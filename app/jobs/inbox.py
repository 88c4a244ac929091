"""Drain the webhook inbox: the worker's side of acknowledge-fast, work-after."""

from __future__ import annotations

from app.incident.intake import IntakeReport
from app.incident.service import OutageDesk


def drain_inbox(desk: OutageDesk) -> IntakeReport:
    """Process stored events in batches until none is left; a failed batch stays for the next run.

    :raises OutageDeskError: Zendesk failed a batch; its events stay pending.
    """
    total = IntakeReport()
    while True:
        report = desk.take_in_pending()
        if not report.events:
            return total
        for name in ("events", "taken_in", "reopened", "ignored", "unknown", "failed"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
