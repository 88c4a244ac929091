"""Run what agents asked for in the sidebar: declarations to finish, attach, detach, resolve, notify."""

from __future__ import annotations

from app.incident.service import OutageDesk


def run_tasks(desk: OutageDesk) -> int:
    """One pass over pending work.

    :raises OutageDeskError: Zendesk failed a task; it stays pending for the next pass.
    """
    return desk.run_tasks()
