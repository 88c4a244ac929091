"""Secrets kept in the store, encrypted with the operator's key (OUTAGE_DESK_SECRET_KEY, a Fernet key)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import ConfigError


class SecretBox:
    """Encrypts and decrypts with one Fernet key, and derives keys for other purposes from it."""

    def __init__(self, key: str | None):
        try:
            self._fernet = Fernet(key or "")
        except ValueError:
            raise ConfigError("OUTAGE_DESK_SECRET_KEY", "is not a Fernet key") from None
        self._raw = base64.urlsafe_b64decode(key)

    def subkey(self, purpose: str) -> bytes:
        """32 bytes for `purpose` alone (HKDF-SHA256)."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(self._raw)
