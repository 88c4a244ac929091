"""Inserts that two processes may race on: the second one is a no-op, not an error."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.store.tables import Base


def insert_ignoring_duplicates(session: Session, table: type[Base], rows: Sequence[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""
    if not rows:
        return
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    session.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
