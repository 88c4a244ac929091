"""Run what agents asked for in the sidebar: declarations to finish, attach, detach, resolve, notify."""

from __future__ import annotations

import logging

from app.errors import OutageDeskError
from app.incident.service import OutageDesk

log = logging.getLogger(__name__)


def run_tasks(desk: OutageDesk) -> int:
    """One pass over pending work; a Zendesk failure leaves it pending for the next pass."""
    try:
        return desk.run_tasks()
    except OutageDeskError as error:
        log.warning("jobs.tasks-retry-later", extra={"error": str(error)})
        return 0
