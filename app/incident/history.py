"""The record of each incident's state changes, with who or what caused each one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.tables import StateChangeRow

# Causes that are not a person: the worker's detection, the command line, the worker itself, the status page.
DETECTION, CLI, WORKER, STATUS_PAGE = "detection", "cli", "worker", "status page"


def record_change(session: Session, incident_id: int, from_state: str | None, to_state: str, by: str | int,
                  at: datetime) -> None:
    """Add the change to the session: committed with the change itself, so neither is without the other."""
    session.add(StateChangeRow(incident_id=incident_id, from_state=from_state, to_state=to_state,
                               changed_by=str(by)[:80], changed_at=at))


def changes_of(session: Session, incident_id: int) -> list[StateChangeRow]:
    return list(session.scalars(select(StateChangeRow).where(StateChangeRow.incident_id == incident_id)
                                .order_by(StateChangeRow.id)))
