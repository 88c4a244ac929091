"""The browser tests' Zendesk: a host page that speaks the ZAF protocol and loads the app as a signedUrls app."""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from flask import Flask, jsonify, send_from_directory

from zendesk_sandbox.server import serve_sandbox

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.json"
HOST_PAGE = Path(__file__).parent / "host"
SDK_DIR = ROOT / "tools" / "sdk"
SDK_BUNDLE = SDK_DIR / "dist" / "zaf_sdk.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The CDN URLs the app page loads, as real Zendesk apps do; the tests answer them with local copies.
SDK_URL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
GARDEN_URL = re.compile(r"^https://cdn\.jsdelivr\.net/npm/(@zendeskgarden/[a-z-]+)@([0-9.]+)/(dist/[\w.-]+\.css)$")

SETTING = re.compile(r"\{\{\s*setting\.(\w+)\s*\}\}")


def missing_prerequisites() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = []
    if shutil.which(CHROMIUM) is None:
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not SDK_BUNDLE.is_file() or not (SDK_DIR / "node_modules" / "@zendeskgarden").is_dir():
        missing.append(f"the local SDK bundle and Garden CSS ({SDK_DIR}: npm ci && npm run build)")
    return missing


class ZendeskStub:
    """Zendesk as the app meets it: the agent UI around the app's iframe, loaded as a signedUrls app.

    The location URL comes from the app's manifest.json with its settings filled in, and the page is
    loaded by a form POST carrying the token the account (the sandbox) signs for the agent, as
    Zendesk's agent UI loads an app whose manifest says `"signedUrls": true`.
    """

    def __init__(self, account: str, settings: dict[str, str], sign: Callable[[int], str], installation_id: int,
                 location: str = "ticket_sidebar"):
        self.account = account
        self.settings = settings
        self._sign = sign
        self._installation_id = installation_id
        self.location_name = location
        manifest = json.loads(MANIFEST.read_text())
        assert manifest["signedUrls"] is True
        url = manifest["location"]["support"][location]["url"]
        self.location = SETTING.sub(lambda match: settings[match[1]], url)
        self.host_config: dict = {}
        self.server = serve_sandbox(self._host_app())
        self.url = self.server.url

    def show(self, ticket: dict, user: dict) -> None:
        """The next page load shows this ticket to this agent."""
        guid = str(uuid.uuid4())
        self.host_config = {
            "app_url": self.location,
            "token": self._sign(user["id"]),
            "app_guid": guid,
            "data": {"ticket.id": ticket["id"], "ticket.subject": ticket["subject"], "currentUser": user,
                     "currentAccount.subdomain": self.account},
            "context": {"host": "zendesk", "product": "support", "location": "ticket_sidebar",
                        "instanceGuid": guid, "account": {"subdomain": self.account}, "ticketId": ticket["id"]},
            "metadata": {"appId": 9001, "installationId": self._installation_id, "name": "Outage Desk",
                         "version": "1.0", "settings": dict(self.settings)},
        }

    def show_nav_bar(self, user: dict, width: int = 880, height: int = 900) -> None:
        """The next page load opens the app's nav bar pane for this agent: no ticket, a wide pane."""
        guid = str(uuid.uuid4())
        self.host_config = {
            "app_url": self.location,
            "token": self._sign(user["id"]),
            "app_guid": guid,
            "pane": {"width": width, "height": height},
            "data": {"currentUser": user, "currentAccount.subdomain": self.account},
            "context": {"host": "zendesk", "product": "support", "location": "nav_bar",
                        "instanceGuid": guid, "account": {"subdomain": self.account}},
            "metadata": {"appId": 9001, "installationId": self._installation_id, "name": "Outage Desk",
                         "version": "1.0", "settings": dict(self.settings)},
        }

    def _host_app(self) -> Flask:
        app = Flask("zendesk-host-stub")
        app.add_url_rule("/", "page", lambda: send_from_directory(HOST_PAGE, "host.html", max_age=0))
        app.add_url_rule("/host.js", "script", lambda: send_from_directory(HOST_PAGE, "host.js", max_age=0))
        app.add_url_rule("/host/config", "config", lambda: jsonify(self.host_config))
        return app

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


class LocalCdn:
    """A Playwright route handler: local copies for the CDN URLs, nothing else leaves the machine."""

    def __init__(self):
        self.refused: list[str] = []

    def __call__(self, route) -> None:
        """Serve, pass on (loopback) or refuse one request of the page or its frames."""
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            route.continue_()
            return
        if url == SDK_URL:
            route.fulfill(path=SDK_BUNDLE, content_type="text/javascript; charset=utf-8")
            return
        match = GARDEN_URL.match(url)
        package = SDK_DIR / "node_modules" / match[1] if match else None
        # The page pins Garden versions; tools/sdk/package.json must pin the same, or this refuses.
        if package and json.loads((package / "package.json").read_text())["version"] == match[2]:
            route.fulfill(path=package / match[3], content_type="text/css; charset=utf-8")
            return
        self.refused.append(url)
        route.abort()


@dataclass
class ServiceCall:
    """One HTTP request the service received, and its answer."""

    method: str
    path: str
    query: str
    body: Any
    authorization: str
    status: int = 0
    answer: Any = None

    def session(self, key: bytes) -> dict:
        """The session's claims, verified with the service's session key as the service verifies them."""
        token = self.authorization.removeprefix("Bearer ")
        return jwt.decode(token, key, algorithms=["HS256"], audience="outage-desk/sidebar",
                          options={"require": ["exp", "iat", "sub", "ins", "auth_time"]})


class Recorder:
    """WSGI middleware that records each request and answer in `calls`."""

    def __init__(self, wsgi_app, calls: list[ServiceCall]):
        self._wsgi_app = wsgi_app
        self._calls = calls

    def __call__(self, environ, start_response):
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        call = ServiceCall(method=environ["REQUEST_METHOD"], path=environ["PATH_INFO"],
                           query=environ.get("QUERY_STRING", ""), body=_json_or_text(raw),
                           authorization=environ.get("HTTP_AUTHORIZATION", ""))

        def recording_start_response(status, headers, exc_info=None):
            call.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        answer = self._wsgi_app(environ, recording_start_response)
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        call.answer = _json_or_text(body)
        self._calls.append(call)
        return [body]


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
