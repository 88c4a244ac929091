"""Every incident the nav bar's page lists: suspected, declared, resolving and resolved, newest first.

Dismissed and expired suspicions are left out: nothing was ever written to Zendesk for them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.incident.model import State
from app.store.tables import IncidentRow

LISTED = (State.SUSPECTED, State.DECLARED, State.RESOLVING, State.RESOLVED)


def listed_incidents(sessions: sessionmaker, limit: int = 100) -> list[IncidentRow]:
    """The newest `limit` listed incidents, the live ones first."""
    with sessions() as session:
        return list(session.scalars(select(IncidentRow).where(IncidentRow.state.in_(LISTED))
                                    .order_by((IncidentRow.state == State.RESOLVED).asc(), IncidentRow.id.desc())
                                    .limit(limit)))
