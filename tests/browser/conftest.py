"""Headless Chromium showing the real sidebar page inside a stub Zendesk, calling the real service."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from zendesk_sandbox.server import serve_sandbox
from app.store.db import make_engine, upgrade
from app.store.secrets import SecretBox
from app.web import create_app
from tests.browser.harness import (CHROMIUM, CHROMIUM_ARGS, LocalCdn, Recorder, ServiceCall, ZendeskStub,
                                   missing_prerequisites)
from tests.scenarios.conftest import Account, desk_config, start_account
from tests.zaf import open_sidebar, session_of

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then fails (CI) or skips each test, naming what is missing
    expect = None

SUBDOMAIN = "acme"  # desk_config's account
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"


class Service:
    """The real Outage Desk service on a thread, over a live sandbox Zendesk, recording what it is asked."""

    def __init__(self, account: Account, tmp_path: Path, **settings):
        """`settings`: Config fields over the scenarios' own (e.g. the status page's)."""
        config = replace(desk_config(account, tmp_path), **settings)
        engine = make_engine(config.database_url)
        upgrade(engine)
        engine.dispose()
        self.app = create_app(config)
        self.session_key = SecretBox(config.outage_desk_secret_key).subkey("sidebar-session")
        self.calls: list[ServiceCall] = []
        self.app.wsgi_app = Recorder(self.app.wsgi_app, self.calls)
        self.server = serve_sandbox(self.app)
        self.url = self.server.url
        self.account = account
        self.installation_id = account.install_app(self.url)
        self._sessions: dict[int, str] = {}

    def call(self, method: str, path: str, user_id: int, body: dict | None = None) -> dict:
        """Call the API directly, as another agent's sidebar would: a test's setup."""
        if user_id not in self._sessions:
            with self.app.test_client() as client:
                page = open_sidebar(client, self.account.signed_url_token(self.installation_id, user_id))
            self._sessions[user_id] = session_of(page)
        response = requests.request(method, self.url + path, json=body, timeout=10,
                                    headers={"Authorization": f"Bearer {self._sessions[user_id]}"})
        response.raise_for_status()
        return response.json()

    def work(self) -> None:
        """Run the worker once: finish declarations (backfill), attach/detach, closing replies."""
        self.app.extensions["outage_desk.desk"].run_tasks()

    def close(self) -> None:
        """Stop serving and release the store."""
        self.server.shutdown()
        self.app.extensions["outage_desk.sessions"].kw["bind"].dispose()


class Sidebar:
    """The app as an agent sees it in a ticket's sidebar, and what the host saw it do."""

    def __init__(self, page, zendesk: ZendeskStub, service: Service):
        self.page = page
        self.zendesk = zendesk
        self.service = service
        self.app = page.frame_locator("#app-frame")

    def open(self, ticket: dict, user: dict) -> None:
        """Load the ticket page for this agent and wait until the app has the service's answer."""
        self.service.calls.clear()
        self.zendesk.show(ticket, user)
        self.page.goto(self.zendesk.url + "/")
        # Attached first: a frame still loading the page (Zendesk's form POST) has no #loading to be hidden.
        expect(self.app.locator("#loading")).to_be_attached()
        expect(self.app.locator("#loading")).to_be_hidden()

    def button(self, name: str):
        """The visible button with exactly this label."""
        return self.app.get_by_role("button", name=name, exact=True)

    def calls(self, method: str | None = None) -> list[ServiceCall]:
        """The API calls the service received since the page opened, optionally of one method."""
        return [call for call in self.service.calls
                if call.path.startswith("/api/") and (method is None or call.method == method)]

    def page_loads(self) -> list[ServiceCall]:
        """The sidebar page's loads (Zendesk's form POST) since the page opened."""
        return [call for call in self.service.calls if call.path == "/sidebar"]

    def host(self, name: str):
        """What the stub host recorded: messages, resizes, requests."""
        return self.page.evaluate(f"window.zafHost.{name}")

    def screenshot(self, name: str) -> Path:
        """Write a picture of the apps panel to test-output/."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / name
        self.page.locator("#apps-panel").screenshot(path=str(path))
        return path


def zendesk_user(account: Account, user_id: int) -> dict:
    """currentUser as ZAF gives it, for a sandbox user."""
    user = account.state.users[user_id]
    return {"id": user["id"], "name": user["name"], "email": user["email"], "role": user["role"],
            "locale": user["locale"], "timeZone": {"ianaName": "Europe/Paris"}}


def zendesk_ticket(account: Account, ticket_id: int) -> dict:
    """The ticket fields the app reads, for a sandbox ticket."""
    ticket = account.ticket(ticket_id)
    return {"id": ticket["id"], "subject": ticket["subject"]}


@pytest.fixture(scope="session")
def browser():
    problems = missing_prerequisites()
    if problems:
        message = "browser tests cannot run; missing: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def unexpected(message) -> bool:
    """A console error that is not Chromium noting an API refusal, which the app shows and the tests assert."""
    refusal = message.text.startswith("Failed to load resource: the server responded with a status of 4")
    return message.type == "error" and not (refusal and "/api/" in message.location.get("url", ""))


@pytest.fixture
def page(browser):
    # An agent of the French team: a time zone away from the service's UTC, which times must survive.
    context = browser.new_context(viewport={"width": 420, "height": 1000}, device_scale_factor=2,
                                  timezone_id="Europe/Paris")
    cdn = LocalCdn()
    context.route("**/*", cdn)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if unexpected(message) else None)
    yield page
    context.close()
    assert not cdn.refused, f"the page asked for URLs outside the test: {cdn.refused}"
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def account():
    account = start_account(tickets=40)
    yield account
    account.server.shutdown()


@pytest.fixture
def service(account, tmp_path):
    service = Service(account, tmp_path)
    yield service
    service.close()


@pytest.fixture
def zendesk(service):
    stub = ZendeskStub(SUBDOMAIN, settings={"service_url": service.url},
                       sign=lambda user_id: service.account.signed_url_token(service.installation_id, user_id),
                       installation_id=service.installation_id)
    yield stub
    stub.close()


@pytest.fixture
def sidebar(page, zendesk, service) -> Sidebar:
    return Sidebar(page, zendesk, service)
