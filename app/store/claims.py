"""Who runs a piece of work that any process may finish (a resolve, an interim update): a time in its row.

Taken atomically, renewed while the work progresses, released at the end. A claim older than the timeout
belongs to a process that died: the worker takes it over. A person who asks (`steal`) takes it at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from app.clock import Clock


class Claim:
    """The claim held in `column` of the row whose `key` column equals `value`."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, key: InstrumentedAttribute, value: int,
                 column: InstrumentedAttribute, timeout: timedelta):
        self.sessions = sessions
        self.clock = clock
        self._row = key == value
        self._column = column
        self._timeout = timeout
        self._held: datetime | None = None

    def take(self, steal: bool) -> bool:
        """Whether it is ours now: always if `steal`, else only if free or lapsed."""
        now = self.clock.now()
        condition = self._row
        if not steal:
            condition = condition & or_(self._column.is_(None), self._column < now - self._timeout)
        with self.sessions() as session:
            won = session.execute(update(self._column.class_).where(condition)
                                  .values({self._column.key: now})).rowcount
            session.commit()
        self._held = now if won else None
        return bool(won)

    def renew(self) -> None:
        """Still at work: unless someone took it over meanwhile, whose claim then stands."""
        if self._held is None:
            return
        now = self.clock.now()
        with self.sessions() as session:
            session.execute(update(self._column.class_).where(self._row, self._column == self._held)
                            .values({self._column.key: now}))
            session.commit()
        self._held = now

    def release(self) -> None:
        if self._held is None:
            return
        with self.sessions() as session:
            session.execute(update(self._column.class_).where(self._row, self._column == self._held)
                            .values({self._column.key: None}))
            session.commit()
