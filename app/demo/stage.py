"""What every act of the demo shares: the sandboxed account, the service and worker, and the figures table."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from rich.console import Console
from rich.table import Table
from werkzeug.serving import make_server

from app.clock import Clock
from app.config import Config
from app.incident.service import OutageDesk
from app.web import create_app
from zendesk_sandbox.state import SandboxState

API_EMAIL = "outage-desk-api@example.com"
ADMIN_ID = 1  # the sandbox's API user is the account's admin
SESSION_META = re.compile(r'<meta name="outage-desk-session" content="([^"]+)"')


@dataclass
class Figures:
    rows: list[tuple[str, str, bool | None]] = field(default_factory=list)

    def add(self, name: str, value: object, ok: bool | None = None) -> None:
        self.rows.append((name, str(value), ok))

    def section(self, title: str) -> None:
        self.rows.append((f"[bold]{title}[/]", "", None))

    @property
    def ok(self) -> bool:
        return all(ok is not False for _, _, ok in self.rows)

    def print(self, console: Console) -> None:
        table = Table("figure", "value", "check", title="Outage Desk demo")
        for name, value, ok in self.rows:
            table.add_row(name, value, "" if ok is None else ("[green]ok[/]" if ok else "[red]FAIL[/]"))
        console.print(table)


class SlackChannel:
    """The team's Slack channel: an incoming webhook on a free local port, keeping what it was told."""

    def __init__(self):
        self.messages: list[str] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._receive, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/services/T0/B0/demo"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _receive(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        text = json.loads(environ["wsgi.input"].read(length) or b"{}").get("text", "")
        with self._lock:
            self.messages.append(text)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def saying(self, words: str) -> list[str]:
        with self._lock:
            return [message for message in self.messages if words in message]

    def shutdown(self) -> None:
        self._server.shutdown()


class ServiceThread:
    """The Flask service on a free local port, as `serve` would run it; its URL is known before it starts."""

    def __init__(self):
        self._app = None
        self._server = make_server("127.0.0.1", 0, lambda environ, start: self._app(environ, start), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self, config: Config) -> None:
        self._app = create_app(config)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def shutdown(self) -> None:
        self._server.shutdown()


@dataclass
class Stage:
    """The account and the processes an act plays against, as an admin set them up."""

    state: SandboxState
    sandbox_url: str
    token: str
    config: Config
    clock: Clock
    desk: OutageDesk
    service: ServiceThread
    slack: SlackChannel
    figures: Figures
    console: Console
    agent_id: int = 0  # one of the account's agents
    installation_id: int | None = None
    _sessions: dict[int, str] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str]:
        return f"{API_EMAIL}/token", self.token

    def stats(self) -> dict:
        return requests.get(f"{self.sandbox_url}/_sandbox/stats", timeout=10).json()

    def api_calls(self) -> int:
        return self.stats()["api_calls"]

    def bulk_writes(self) -> int:
        return self.stats()["by_endpoint"].get("PUT /api/v2/tickets/update_many", 0)

    def new_ticket(self, body: dict) -> int:
        """A customer writes in (Zendesk's triggers then call the service's webhook)."""
        response = requests.post(f"{self.sandbox_url}/_sandbox/tickets", json=body, timeout=10)
        response.raise_for_status()
        return response.json()["id"]

    def ticket(self, ticket_id: int) -> dict:
        """The ticket as Zendesk (the sandbox) has it now."""
        with self.state.lock:
            return dict(self.state.tickets[ticket_id])

    def emails_since(self, mark: int) -> Counter:
        """Emails per ticket since `mark` (a length of the sandbox's outbox)."""
        with self.state.lock:
            return Counter(email["ticket_id"] for email in self.state.emails[mark:])

    def outbox(self) -> int:
        with self.state.lock:
            return len(self.state.emails)

    def sidebar(self, user_id: int):
        """`user_id` opens the app beside a ticket: Zendesk (the sandbox) signs the page's token, the
        service answers with its session; returns a function calling the sidebar's API as that person."""
        if self.installation_id is None:
            apps = requests.get(f"{self.sandbox_url}/api/v2/apps/owned.json", auth=self.auth, timeout=10).json()
            body = {"app_id": apps["apps"][0]["id"], "settings": {"name": "Outage Desk", "service_url": self.service.url}}
            installed = requests.post(f"{self.sandbox_url}/api/v2/apps/installations.json", json=body, auth=self.auth,
                                      timeout=10)
            installed.raise_for_status()
            self.installation_id = installed.json()["id"]
        if user_id not in self._sessions:
            signed = requests.post(f"{self.sandbox_url}/_sandbox/apps/installations/{self.installation_id}/signed_url",
                                   json={"user_id": user_id}, timeout=10)
            signed.raise_for_status()
            page = requests.post(f"{self.service.url}/sidebar", data={"token": signed.json()["token"]}, timeout=10)
            page.raise_for_status()
            self._sessions[user_id] = SESSION_META.search(page.text)[1]
        headers = {"Authorization": f"Bearer {self._sessions[user_id]}"}

        def call(method: str, path: str, **kwargs) -> requests.Response:
            return requests.request(method, f"{self.service.url}/api{path}", headers=headers, timeout=10, **kwargs)
        return call


def wait(predicate, timeout: float) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
