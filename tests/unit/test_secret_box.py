"""SecretBox: secrets sealed with OUTAGE_DESK_SECRET_KEY, opened only with it, and keys derived from it."""

import base64

import pytest

from app.errors import ConfigError, SecretKeyMismatch
from app.store.secrets import SecretBox


def test_a_secret_opens_with_the_key_it_was_sealed_with_and_no_other():
    box = SecretBox(SecretBox.new_key())
    token = box.encrypt("whsec-signing-secret")

    assert "whsec-signing-secret" not in token
    assert box.decrypt(token) == "whsec-signing-secret"
    with pytest.raises(SecretKeyMismatch, match="OUTAGE_DESK_SECRET_KEY does not match the key the stored secret"):
        SecretBox(SecretBox.new_key()).decrypt(token)


def test_an_altered_secret_is_refused_as_not_matching():
    box = SecretBox(SecretBox.new_key())
    token = box.encrypt("whsec-signing-secret")
    altered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]

    with pytest.raises(SecretKeyMismatch, match="or the stored value was altered"):
        box.decrypt(altered)


@pytest.mark.parametrize(("key", "problem"), [
    (None, "is not set"), ("", "is not set"),
    ("not-a-key", "is not a Fernet key"),
    (base64.urlsafe_b64encode(b"sixteen bytes!!!").decode(), "is not a Fernet key"),
])
def test_a_missing_or_malformed_key_names_the_variable_and_how_to_make_one(key, problem):
    with pytest.raises(ConfigError, match=f"^OUTAGE_DESK_SECRET_KEY {problem}.*`outage-desk keygen`") as raised:
        SecretBox(key)
    assert raised.value.exit_code == 78


def test_subkeys_are_32_bytes_the_same_for_a_purpose_and_key_and_apart_otherwise():
    key = SecretBox.new_key()
    session = SecretBox(key).subkey("sidebar-session")

    assert len(session) == 32
    assert SecretBox(key).subkey("sidebar-session") == session
    assert SecretBox(key).subkey("another-use") != session
    assert SecretBox(SecretBox.new_key()).subkey("sidebar-session") != session
    assert session not in base64.urlsafe_b64decode(key) + base64.urlsafe_b64decode(key)
