"""Small values setup learns from Zendesk, kept in the store (never printed)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.store.tables import SettingRow


def save_setting(sessions: sessionmaker[Session], key: str, value: str) -> None:
    with sessions() as session:
        session.merge(SettingRow(key=key, value=value))
        session.commit()


def load_setting(sessions: sessionmaker[Session], key: str) -> str | None:
    with sessions() as session:
        row = session.get(SettingRow, key)
        return row.value if row else None
