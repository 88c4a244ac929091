"""Suspicions that went quiet: a suspected incident whose cluster got no new ticket for the detection window
expires, so the sidebar stops showing it; should the subject come back, detection opens a fresh one.

Dismissed clusters are not touched: detection stays quiet about them for their window (detection.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.incident.history import WORKER, record_change
from app.incident.model import State
from app.store.tables import IncidentRow, SightingRow

log = logging.getLogger(__name__)


class SuspicionExpiry:
    """The worker's pass over suspected incidents; `window` is OUTAGE_DESK_DETECT_WINDOW_MINUTES."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, window: timedelta):
        self.sessions = sessions
        self.clock = clock
        self.window = window

    def run(self) -> list[int]:
        """Expire every suspicion without a ticket in the last window; returns their ids."""
        now = self.clock.now()
        recent = exists().where(and_(SightingRow.subject_key == IncidentRow.subject_key,
                                     SightingRow.seen_at >= now - self.window))
        expired = []
        with self.sessions() as session:
            for incident_id in session.scalars(select(IncidentRow.id).where(IncidentRow.state == State.SUSPECTED)):
                # One statement that checks and expires: a ticket joining the cluster, or a person confirming
                # or dismissing it, meanwhile leaves it as they made it.
                quiet = session.execute(update(IncidentRow).where(
                    IncidentRow.id == incident_id, IncidentRow.state == State.SUSPECTED, ~recent)
                    .values(state=State.EXPIRED, ended_at=now).execution_options(synchronize_session=False)).rowcount
                if quiet:
                    record_change(session, incident_id, State.SUSPECTED, State.EXPIRED, WORKER, now)
                    expired.append(incident_id)
                session.commit()
        for incident_id in expired:
            log.info("incident.suspicion-expired", extra={"incident": incident_id})
        return expired
