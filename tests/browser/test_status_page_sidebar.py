"""The status page's "resolved", waiting for a person (OUTAGE_DESK_STATUS_RESOLVE=confirm), in the sidebar:
the admin or the product referent confirms it, everyone else sees who will."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from app.cli import cli
from tests.browser.conftest import Service, expect, zendesk_ticket, zendesk_user
from tests.browser.test_sidebar import api_ticket
from tests.conftest import SECRET_KEY, database_url_for

COMPONENTS = json.dumps({"API": {"tag": "api_down", "query": "API"}})


@pytest.fixture
def service(account, tmp_path):
    """The service with the API component mapped and resolves to confirm; the admin made the webhook's URL first."""
    made = CliRunner().invoke(cli, ["status-webhook", "--service-url", "https://outage-desk.example.com"],
                              env={"DATABASE_URL": database_url_for(tmp_path), "OUTAGE_DESK_SECRET_KEY": SECRET_KEY})
    assert made.exit_code == 0, made.output
    service = Service(account, tmp_path, outage_desk_status_components=COMPONENTS, outage_desk_status_resolve="confirm")
    service.status_path = urlsplit(made.output.strip()).path
    yield service
    service.close()


def status_page_says(service, account, status: str, updated_at: str) -> None:
    """The status page posts its incident webhook (the generic form), and the worker acts on it."""
    body = {"id": "inc42", "name": "Elevated API errors", "status": status, "components": ["API"],
            "updated_at": updated_at, "started_at": account.start.isoformat()}
    response = requests.post(service.url + service.status_path, json=body, timeout=10)
    assert response.status_code == 202, response.text
    service.work()


def test_an_admin_confirms_the_status_pages_resolve(sidebar, service, account):
    status_page_says(service, account, "investigating", "2026-11-22T10:00:00Z")
    status_page_says(service, account, "resolved", "2026-11-22T11:00:00Z")
    sidebar.open(api_ticket(account), zendesk_user(account, account.seed.api_user_id))
    app = sidebar.app

    expect(app.locator("#incident-badge")).to_have_text("Outage in progress")
    expect(app.locator("#status-resolve .badge")).to_have_text("The status page says resolved")
    expect(app.locator("#status-resolve-name")).to_have_text("Elevated API errors")
    expect(app.locator("#status-resolve")).to_contain_text("Confirm to send every affected customer the closing reply.")
    sidebar.screenshot("sidebar-status-resolve.png")

    sidebar.button("Confirm the resolve").click()

    expect(app.locator("#incident-badge")).to_have_text("Closing emails going out")
    expect(app.locator("#status-resolve")).to_be_hidden()
    [confirmed] = [call for call in sidebar.calls("POST") if call.path.endswith("/confirm-resolve")]
    assert confirmed.status == 202
    service.work()
    sidebar.open(api_ticket(account), zendesk_user(account, account.seed.api_user_id))
    expect(app.locator("#incident-badge")).to_have_text("Resolved")


def test_an_agent_sees_the_resolve_wait_without_the_button(sidebar, service, account):
    status_page_says(service, account, "investigating", "2026-11-22T10:00:00Z")
    status_page_says(service, account, "resolved", "2026-11-22T11:00:00Z")
    agent = next(user_id for user_id in account.seed.agent_ids if account.state.users[user_id]["locale"] == "fr")
    sidebar.open(zendesk_ticket(account, api_ticket(account)["id"]), zendesk_user(account, agent))
    app = sidebar.app

    expect(app.locator("#status-resolve .badge")).to_have_text("La page de statut indique «\u00a0résolu\u00a0»")
    expect(app.locator("#status-resolve-waiting")).to_be_visible()
    expect(app.locator("#confirm-status-resolve")).to_be_hidden()
    sidebar.screenshot("sidebar-status-resolve-agent.png")
