"""Secrets setup learns from Zendesk, kept in the store encrypted (never printed)."""

from __future__ import annotations

import base64

from sqlalchemy.orm import Session, sessionmaker

from app.errors import ConfigError
from app.store.secrets import SecretBox
from app.store.tables import SettingRow

WEBHOOK_SIGNING_SECRET = "webhook_signing_secret"
STATUS_WEBHOOK_TOKEN = "status_webhook_token"  # the secret in the status page webhook's URL
FERNET_VERSION = b"\x80"  # the first byte of every Fernet token


def save_secret(sessions: sessionmaker[Session], box: SecretBox, key: str, value: str) -> None:
    with sessions() as session:
        session.merge(SettingRow(key=key, value=box.encrypt(value)))
        session.commit()


def load_secret(sessions: sessionmaker[Session], box: SecretBox, key: str) -> str | None:
    """The secret stored under `key`, decrypted; None if setup stored none.

    :raises ConfigError: it was stored in plain text by an older release.
    :raises SecretKeyMismatch: it was encrypted with another key, or altered.
    """
    with sessions() as session:
        row = session.get(SettingRow, key)
    if row is None:
        return None
    if not _encrypted(row.value):
        # Not encrypted in place by whichever process reads it first: setup fetches it from Zendesk
        # again and stores it over the plain copy, on the operator's say.
        raise ConfigError(f"the stored {key}", "is in plain text, as an older release of Outage Desk stored it: "
                                               "run `outage-desk setup` again to store it encrypted")
    return box.decrypt(row.value)


def _encrypted(value: str) -> bool:
    try:
        return base64.urlsafe_b64decode(value)[:1] == FERNET_VERSION
    except ValueError:
        return False
