"""Leases in the store: one owner at a time, taken or renewed by a single atomic statement."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.store.tables import LeaseRow
from app.store.writes import upsert_insert

# Far enough in the past that any holder's clock sees a released lease as lapsed.
RELEASED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def take_lease(sessions: sessionmaker[Session], name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take `name` for `owner` until `now + ttl` if it is free, lapsed or already `owner`'s; True if held."""
    expires_at = now + ttl
    with sessions() as session:
        # The WHERE is re-checked under the row lock, so of two racing takers only one matches.
        taken = session.execute(update(LeaseRow).where(
            LeaseRow.name == name, or_(LeaseRow.owner == owner, LeaseRow.expires_at < now))
            .values(owner=owner, expires_at=expires_at)).rowcount == 1
        if not taken:
            # No row yet, or someone else's: the first insert creates it, any other is a no-op.
            taken = session.execute(upsert_insert(session, LeaseRow)
                                    .values(name=name, owner=owner, expires_at=expires_at)
                                    .on_conflict_do_nothing().returning(LeaseRow.name)).first() is not None
        session.commit()
    return taken


def release_lease(sessions: sessionmaker[Session], name: str, owner: str) -> None:
    """Let the next taker have `name` at once, if `owner` still holds it."""
    with sessions() as session:
        session.execute(update(LeaseRow).where(LeaseRow.name == name, LeaseRow.owner == owner)
                        .values(expires_at=RELEASED))
        session.commit()


def lease_holder(sessions: sessionmaker[Session], name: str) -> LeaseRow | None:
    """The lease as stored: its owner and until when (lapsed leases included)."""
    with sessions() as session:
        return session.scalar(select(LeaseRow).where(LeaseRow.name == name))
