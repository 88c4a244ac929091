"""Secrets at rest: values the store keeps are Fernet tokens under OUTAGE_DESK_SECRET_KEY, never plain text."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import ConfigError, SecretKeyMismatch

KEY_VARIABLE = "OUTAGE_DESK_SECRET_KEY"
HOW_TO_MAKE_ONE = "make one with `outage-desk keygen`"
SUBKEY_BYTES = 32


class SecretBox:
    """Encrypts and decrypts the store's secrets, and derives keys for other uses, all from one Fernet key."""

    def __init__(self, key: str | None):
        """:raises ConfigError: the key is missing or is not a Fernet key."""
        if not key:
            raise ConfigError(KEY_VARIABLE, f"is not set: it encrypts the secrets in the store; {HOW_TO_MAKE_ONE}")
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise ConfigError(KEY_VARIABLE, "is not a Fernet key (32 bytes in URL-safe base64): "
                              f"{HOW_TO_MAKE_ONE}") from None
        self._key = base64.urlsafe_b64decode(key)

    @staticmethod
    def new_key() -> str:
        """A fresh random key, as OUTAGE_DESK_SECRET_KEY takes it."""
        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """:raises SecretKeyMismatch: another key encrypted `token`, or it was altered."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyMismatch() from None

    def subkey(self, purpose: str) -> bytes:
        """32 bytes for `purpose` alone (e.g. "sidebar-session"): no use of one reveals the key or another's."""
        return HKDF(algorithm=SHA256(), length=SUBKEY_BYTES, salt=None,
                    info=f"outage-desk:{purpose}".encode()).derive(self._key)
