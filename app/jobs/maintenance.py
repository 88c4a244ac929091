"""Declare scheduled maintenance at its start and end it at its end."""

from __future__ import annotations

from app.incident.service import OutageDesk


def run_maintenance(desk: OutageDesk) -> int:
    """One pass over the windows that are due.

    :raises OutageDeskError: the store failed; the window's step runs again on the next pass.
    """
    return desk.maintenance.run_due()
