"""The readiness heartbeat: a small write, committed, that only a store able to take writes accepts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.store.tables import HeartbeatRow
from app.store.writes import upsert_insert


def beat(sessions: sessionmaker[Session], node: str, now: datetime) -> None:
    """Record that `node` wrote to the store at `now`.

    :raises sqlalchemy.exc.SQLAlchemyError: the store refused the write (read-only, full, down).
    """
    with sessions() as session:
        # One row per host, however many web workers check at once: an upsert, never a duplicate key.
        session.execute(upsert_insert(session, HeartbeatRow).values(node=node, beat_at=now, beats=1)
                        .on_conflict_do_update(index_elements=[HeartbeatRow.node],
                                               set_={"beat_at": now, "beats": HeartbeatRow.beats + 1}))
        session.commit()
