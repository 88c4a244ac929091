"""A live sandbox account and an Outage Desk wired to it, for runbook scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import requests

from app.config import Config
from app.incident.model import IncidentSpec
from app.zendesk.provisioning import DEFINITIONS_ROOT
from zendesk_sandbox.seed import SeedSummary, load_macros, seed_outage
from zendesk_sandbox.server import SandboxServer, create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState
from app.wiring import build_desk
from tests.helpers import SlackChannel
from tests.zaf import open_sidebar, session_of
from tests.conftest import APP_ID, SECRET_KEY, WEBHOOK_SECRET, database_url_for

API_EMAIL = "outage-desk-api@example.com"
API_TOKEN = "scenario-token"


@dataclass
class Account:
    """The sandbox Zendesk account: its state for assertions, its URL for the app."""

    state: SandboxState
    server: SandboxServer
    seed: SeedSummary
    start: datetime

    @property
    def url(self) -> str:
        return self.server.url

    def ticket(self, ticket_id: int) -> dict:
        with self.state.lock:
            return dict(self.state.tickets[ticket_id])

    def emails_since(self, mark: int) -> list[dict]:
        """Emails sent after `mark` (a count taken with len(account.state.emails))."""
        with self.state.lock:
            return list(self.state.emails[mark:])

    def comments(self, ticket_id: int) -> list[dict]:
        return self.state.comments_for(ticket_id)

    def write_in(self, description: str, *, locale: str = "en-US", email: str | None = "customer@example.org",
                 name: str = "Jane Customer", channel: str = "email", **fields) -> int:
        """A customer writes in (a webhook goes out only if a trigger of the account calls one)."""
        requester = {"name": name, "locale": locale, "email": email}
        if email is None:
            requester["phone"] = name
        body = {"subject": description[:40], "description": description, "channel": channel,
                "requester": requester, **fields}
        response = requests.post(f"{self.url}/_sandbox/tickets", json=body, timeout=10)
        response.raise_for_status()
        return response.json()["id"]

    def install_app(self, service_url: str = "https://outage-desk.example.com") -> int:
        """An admin installs the uploaded Outage Desk app (Install App); returns the installation id."""
        apps = requests.get(f"{self.url}/api/v2/apps/owned.json", auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=10)
        apps.raise_for_status()
        body = {"app_id": apps.json()["apps"][0]["id"], "settings": {"name": "Outage Desk", "service_url": service_url}}
        response = requests.post(f"{self.url}/api/v2/apps/installations.json", json=body,
                                 auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=10)
        response.raise_for_status()
        return response.json()["id"]

    def signed_url_token(self, installation_id: int, user_id: int) -> str:
        """The token Zendesk POSTs to the app's page when `user_id` opens a ticket."""
        response = requests.post(f"{self.url}/_sandbox/apps/installations/{installation_id}/signed_url",
                                 json={"user_id": user_id}, timeout=10)
        response.raise_for_status()
        return response.json()["token"]

    def sidebar_sessions(self, sidebar):
        """Headers for the sidebar's calls as a user: the app installed once, then for each user Zendesk
        (the sandbox) signs the page's token and the service (`sidebar`, a test client) answers with a session."""
        installation = self.install_app()
        sessions: dict[int, str] = {}

        def headers(user_id: int) -> dict[str, str]:
            if user_id not in sessions:
                page = open_sidebar(sidebar, self.signed_url_token(installation, user_id))
                assert page.status_code == 200, page.data[:300]
                sessions[user_id] = session_of(page)
            return {"Authorization": f"Bearer {sessions[user_id]}"}
        return headers

    def agent_update(self, ticket_id: int, **changes) -> None:
        """An agent changes a ticket in Zendesk's own interface."""
        requests.put(f"{self.url}/api/v2/tickets/{ticket_id}.json", auth=(f"{API_EMAIL}/token", API_TOKEN),
                     json={"ticket": changes}, timeout=10).raise_for_status()


# Outage Desk's macros, already in the account as `outage-desk setup` writes them.
OUTAGE_DESK_MACROS = load_macros(DEFINITIONS_ROOT / "macros")


def start_account(tickets: int, rate_limit: int = 700, **options) -> Account:
    state = SandboxState(api_email=API_EMAIL)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    summary = seed_outage(state, tickets=tickets, seed=3, start=start, macros=OUTAGE_DESK_MACROS)
    server = serve_sandbox(create_sandbox_app(state, email=API_EMAIL, api_token=API_TOKEN,
                                              rate_limit_per_minute=rate_limit, job_delay=0.01, **options))
    return Account(state=state, server=server, seed=summary, start=start)


@pytest.fixture
def account(request):
    """A seeded sandbox; search lags as the sandbox's default unless the test is marked index_delay(seconds)."""
    marker = request.node.get_closest_marker("index_delay")
    account = start_account(tickets=80, **({"index_delay": marker.args[0]} if marker else {}))
    yield account
    account.server.shutdown()


@pytest.fixture
def channel():
    """A Slack channel on a loopback server: what the service posts there."""
    channel = SlackChannel()
    yield channel
    channel.close()


@pytest.fixture(autouse=True)
def scenario_database(database_url) -> str:
    """Every scenario gets its own store, which desk_config finds by the test's tmp_path."""
    return database_url


def desk_config(account: Account, tmp_path) -> Config:
    return Config(zendesk_subdomain="acme", zendesk_url=account.url, zendesk_email=API_EMAIL,
                  zendesk_api_token=API_TOKEN, zendesk_webhook_secret=WEBHOOK_SECRET,
                  database_url=database_url_for(tmp_path), outage_desk_referent=str(account.seed.referent_id),
                  outage_desk_secret_key=SECRET_KEY, outage_desk_app_id=APP_ID)


@pytest.fixture
def desk(account, tmp_path):
    desk = build_desk(desk_config(account, tmp_path))
    yield desk
    desk.sessions.kw["bind"].dispose()


def outage(account: Account, **overrides) -> IncidentSpec:
    return IncidentSpec(**{"title": "API down", "query": "API", "started_at": account.start, **overrides})
