"""Helpers for the sandbox tests: the start time, an authenticated client, request helpers, a webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, request

from zendesk_sandbox.seed import load_macros
from zendesk_sandbox.server import serve_sandbox

API_EMAIL = "outage-desk@example.com"
API_TOKEN = "sandbox-token"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
# Outage Desk's own macros (the repository's macros/ folder), as plain data: the account already has them.
OUTAGE_DESK_MACROS = load_macros(Path(__file__).resolve().parents[2] / "macros")


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

    def patch(self, path: str, json=None, **kwargs):
        return self.client.patch(path, headers=self.headers, json=json, **kwargs)

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


def create(api: Api, **fields) -> dict:
    """Create a ticket through the Tickets API as the API user."""
    body = {"ticket": {"subject": "s", "comment": {"body": "b"}, **fields}}
    response = api.post("/api/v2/tickets.json", json=body)
    assert response.status_code == 201, response.json
    return response.json["ticket"]


def update(api: Api, ticket_id: int, **fields):
    """PUT one ticket."""
    return api.put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": fields})


def path_of(url: str) -> str:
    """The path and query of an absolute next-page link, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


class Receiver:
    """A live webhook endpoint that records deliveries and answers with scripted status codes."""

    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.received: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        app = Flask("receiver")
        app.add_url_rule("/hooks/zendesk", "hook", self.hook, methods=["POST"])
        self.server = serve_sandbox(app)

    def hook(self):
        with self.lock:
            self.received.append((dict(request.headers), request.get_data()))
            status = self.statuses.pop(0) if self.statuses else 200
        return "", status


def zendesk_signature(secret: str, timestamp: str, raw: bytes) -> str:
    """Zendesk's documented recipe, written here apart from both the sandbox and the product: base64 of
    HMAC-SHA256 keyed by the secret as is, over the timestamp then the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + raw, hashlib.sha256).digest()).decode()
