"""Inserts that two processes may race on: the second one is a no-op, not an error."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.store.tables import Base


def dialect_insert(bind: Engine | Connection, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which alone offers ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    dialect = sqlite if bind.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


def upsert_insert(session: Session, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """`dialect_insert` for the session's database."""
    return dialect_insert(session.get_bind(), table)


def insert_ignoring_duplicates(session: Session, table: type[Base], rows: Sequence[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""
    if not rows:
        return
    session.execute(upsert_insert(session, table).on_conflict_do_nothing(), list(rows))
