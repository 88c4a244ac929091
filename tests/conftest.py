from __future__ import annotations

import pytest

from app.config import Config
from app.store.db import make_engine, make_session_factory, upgrade
from app.web import create_app
from tests.helpers import FrozenClock, WebhookSender

WEBHOOK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(zendesk_subdomain="acme", zendesk_email="api@acme.test", zendesk_api_token="tok-secret-123",
                  zendesk_webhook_secret=WEBHOOK_SECRET, database_url=f"sqlite:///{tmp_path}/desk.db",
                  outage_desk_referent="referent@example.com")


@pytest.fixture
def sessions(config):
    engine = make_engine(config.database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def app(config, sessions, clock):
    return create_app(config, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def webhooks(client, clock) -> WebhookSender:
    return WebhookSender(client, WEBHOOK_SECRET, clock)
