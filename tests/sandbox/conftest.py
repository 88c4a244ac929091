"""Fixtures for the Zendesk sandbox tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from zendesk_sandbox.seed import SeedSummary, seed_outage
from zendesk_sandbox.server import create_sandbox_app
from zendesk_sandbox.state import SandboxState
from tests.helpers import FrozenClock

from .support import API_EMAIL, API_TOKEN, OUTAGE_DESK_MACROS, T0, Api


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock at T0 that drives timestamps, rate windows, index delay and cursor expiry."""
    return FrozenClock(T0)


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
    start, end = T0 - timedelta(hours=2), T0 - timedelta(minutes=5)
    summary = seed_outage(state, tickets=300, seed=7, start=start, end=end, macros=OUTAGE_DESK_MACROS)
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
