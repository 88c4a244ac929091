"""The webhook signing secret at rest: stored encrypted; the app starts only with the key it was stored with."""

import pytest
from sqlalchemy import text

from app.errors import ConfigError, SecretKeyMismatch
from app.store.secrets import SecretBox
from app.store.settings import WEBHOOK_SIGNING_SECRET, save_secret
from app.web import create_app
from tests.helpers import WebhookSender

STORED = "dGhlX3NlY3JldF9zZXR1cF9zdG9yZWRfZm9yX3NlcnZl"


def stored_value(sessions) -> str:
    """The settings row as the database holds it, read past our code."""
    with sessions() as session:
        return session.execute(text("SELECT value FROM settings WHERE key = :key"),
                               {"key": WEBHOOK_SIGNING_SECRET}).scalar_one()


def test_the_app_needs_the_key_even_with_the_webhook_secret_in_the_environment(config, sessions):
    with pytest.raises(ConfigError, match="^OUTAGE_DESK_SECRET_KEY is not set") as raised:
        create_app(config.with_overrides(outage_desk_secret_key=""))
    assert raised.value.exit_code == 78


def test_the_stored_secret_is_encrypted_and_verifies_webhooks_once_read_back(config, sessions, clock):
    save_secret(sessions, SecretBox(config.outage_desk_secret_key), WEBHOOK_SIGNING_SECRET, STORED)

    assert STORED not in stored_value(sessions)
    client = create_app(config.with_overrides(zendesk_webhook_secret=""), clock=clock).test_client()
    assert WebhookSender(client, STORED, clock).ticket_event(7).status_code == 202


def test_a_secret_stored_with_another_key_stops_the_app_with_what_to_do(config, sessions):
    save_secret(sessions, SecretBox(SecretBox.new_key()), WEBHOOK_SIGNING_SECRET, STORED)

    with pytest.raises(SecretKeyMismatch, match="set the key it was stored with, or run `outage-desk setup` again"):
        create_app(config.with_overrides(zendesk_webhook_secret=""))


def test_a_secret_an_older_release_stored_in_plain_text_asks_for_setup_again(config, sessions):
    with sessions() as session:  # as releases before encryption wrote it
        session.execute(text("INSERT INTO settings (key, value) VALUES (:key, :value)"),
                        {"key": WEBHOOK_SIGNING_SECRET, "value": STORED})
        session.commit()

    with pytest.raises(ConfigError, match="is in plain text.*run `outage-desk setup` again to store it encrypted"):
        create_app(config.with_overrides(zendesk_webhook_secret=""))
