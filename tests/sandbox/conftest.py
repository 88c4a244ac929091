"""Fixtures for the Zendesk sandbox tests: a controllable clock and an authenticated client."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask

from app.sandbox.seed import SeedSummary, seed_outage
from app.sandbox.server import create_sandbox_app
from app.sandbox.state import SandboxState

API_EMAIL = "outage-desk@example.com"
API_TOKEN = "sandbox-token"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


class FakeClock:
    """Frozen until advanced; drives timestamps, rate windows, index delay and cursor expiry."""

    def __init__(self, start: datetime = T0):
        self._now = start
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


class Api:
    """A Flask test client that authenticates as the API user and speaks JSON."""

    def __init__(self, app: Flask, email: str = API_EMAIL, token: str = API_TOKEN):
        self.app = app
        self.sandbox = app.extensions["sandbox"]
        self.state = self.sandbox.state
        self.client = app.test_client()
        credentials = base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {credentials}"}

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(path, headers=self.headers, json=json, **kwargs)

    def put(self, path: str, json=None, **kwargs):
        return self.client.put(path, headers=self.headers, json=json, **kwargs)

    def delete(self, path: str, json=None, **kwargs):
        return self.client.delete(path, headers=self.headers, json=json, **kwargs)

    def customer_ticket(self, **fields) -> dict:
        """A customer writes in through the /_sandbox/ helper; returns the ticket JSON."""
        body = {
            "subject": "API down",
            "description": "The API returns erreur 503",
            "requester": {"name": "Ana Lima", "email": "ana@example.com", "locale": "pt-BR"},
            **fields,
        }
        response = self.client.post("/_sandbox/tickets", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def finish_jobs(self) -> None:
        assert self.sandbox.jobs.wait_idle(10)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_api(clock) -> Iterator:
    """Build sandboxes (closing their threads afterwards); keyword arguments go to create_sandbox_app."""
    apps: list[Flask] = []

    def build(state: SandboxState | None = None, **options) -> Api:
        options.setdefault("clock", clock)
        options.setdefault("job_delay", 0.0)
        app = create_sandbox_app(state, email=API_EMAIL, api_token=API_TOKEN, **options)
        apps.append(app)
        return Api(app)

    yield build
    for app in apps:
        app.extensions["sandbox"].close()


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


@pytest.fixture
def seeded(make_api) -> tuple[Api, SeedSummary]:
    state = SandboxState()
    summary = seed_outage(state, tickets=300, seed=7, start=T0 - timedelta(hours=2), end=T0 - timedelta(minutes=5))
    return make_api(state), summary


@pytest.fixture
def agents(api) -> dict[str, dict]:
    """An agent, an end user with email, and one without."""
    state = api.state
    return {
        "agent": state.add_user("Julien Moreau", email="julien@example.com", role="agent", locale="fr"),
        "customer": state.add_user("Ana Lima", email="ana@example.com", locale="pt-BR"),
        "caller": state.add_user("+33 6 12 34 56 78", phone="+33 6 12 34 56 78", locale="fr"),
    }
