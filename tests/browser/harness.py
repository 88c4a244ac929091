"""The browser tests' Zendesk: a host page that speaks the ZAF protocol, the app's asset server, the proxy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from flask import Flask, jsonify, request, send_from_directory

from zendesk_sandbox.server import serve_sandbox

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.json"
ASSETS = ROOT / "assets"
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
# Where a secure setting may be filled in; a secure setting without `scopes` may go anywhere.
SCOPES = ("header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username", "basic_auth_password")
JWT_TOKEN = re.compile(r"\{\{\s*jwt\.token\s*\}\}")


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


def sign_hs256(claims: dict, secret: str) -> str:
    """An HS256 JWT made by hand, as Zendesk's proxy makes it, so the service's PyJWT check is a real one."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


class ZendeskStub:
    """Zendesk as the app meets it: the agent UI around the app's iframe, the asset host, the proxy.

    Which settings are secure, and where each may be filled in (its `scopes`), come from the
    app's manifest.json, so the page is tested against the manifest it ships with.
    """

    def __init__(self, account: str, settings: dict[str, str]):
        self.account = account
        self.settings = settings
        parameters = json.loads(MANIFEST.read_text())["parameters"]
        self.secure_scopes = {parameter["name"]: set(parameter.get("scopes") or SCOPES)
                              for parameter in parameters if parameter.get("secure")}
        self.proxied: list[dict] = []  # client.request options, as the app sent them
        self.host_config: dict = {}
        # Zendesk serves app assets from another origin than the agent UI: so do we (another port).
        self.assets = serve_sandbox(_assets_app())
        self.server = serve_sandbox(self._host_app())
        self.url = self.server.url

    def show(self, ticket: dict, user: dict) -> None:
        """The next page load shows this ticket to this agent."""
        guid = str(uuid.uuid4())
        self.host_config = {
            "app_url": f"{self.assets.url}/assets/iframe.html",
            "app_guid": guid,
            "data": {"ticket.id": ticket["id"], "ticket.subject": ticket["subject"], "currentUser": user,
                     "currentAccount.subdomain": self.account},
            "context": {"host": "zendesk", "product": "support", "location": "ticket_sidebar",
                        "instanceGuid": guid, "account": {"subdomain": self.account}, "ticketId": ticket["id"]},
            # Secure settings never reach the browser: the app sees only the others.
            "metadata": {"appId": 1, "installationId": 1, "name": "Outage Desk", "version": "1.0",
                         "settings": {name: value for name, value in self.settings.items()
                                      if name not in self.secure_scopes}},
        }

    def forward(self, options: dict) -> dict:
        """What Zendesk's proxy does with client.request(options): fill settings, sign, call, relay."""
        self.proxied.append(options)
        # Secure settings are filled in only for requests that go through the proxy as secure ones.
        secure = bool(options.get("secure")) and not options.get("cors")
        token = None
        if options.get("jwt"):
            spec = options["jwt"]
            if spec.get("algorithm") != "HS256":
                return _answer(400, "Bad Request", {"error": "the proxy signs HS256 only"})
            now = int(time.time())
            claims = {**(spec.get("claims") or {}), "iat": now, "exp": now + int(spec.get("expiry", 60))}
            token = sign_hs256(claims, self._fill(spec["secret_key"], "jwt_secret_key", secure, None))
        url = self._fill(options["url"], "url", secure, token)
        headers = {name: self._fill(str(value), "header", secure, token)
                   for name, value in (options.get("headers") or {}).items()}
        if options.get("contentType"):
            headers["Content-Type"] = options["contentType"]
        data = options.get("data")
        try:
            response = requests.request(options.get("type", "GET"), url, headers=headers, timeout=10,
                                        data=self._fill(data, "body", secure, token).encode() if data else None)
        except requests.RequestException as error:
            return _answer(502, "Bad Gateway", {"error": f"proxy: {type(error).__name__}"})
        return {"status": response.status_code, "status_text": response.reason,
                "content_type": response.headers.get("Content-Type", ""), "body": response.text}

    def _fill(self, text: str, place: str, secure: bool, token: str | None) -> str:
        """Placeholders replaced in one place of the request (a scope name); others are left as they are."""

        def setting(match: re.Match) -> str:
            name = match[1]
            if name not in self.settings:
                return match[0]
            if name in self.secure_scopes and not (secure and place in self.secure_scopes[name]):
                return match[0]
            return self.settings[name]

        text = SETTING.sub(setting, text)
        return JWT_TOKEN.sub(token, text) if token else text

    def _host_app(self) -> Flask:
        app = Flask("zendesk-host-stub")
        app.add_url_rule("/", "page", lambda: send_from_directory(HOST_PAGE, "host.html", max_age=0))
        app.add_url_rule("/host.js", "script", lambda: send_from_directory(HOST_PAGE, "host.js", max_age=0))
        app.add_url_rule("/host/config", "config", lambda: jsonify(self.host_config))
        app.add_url_rule("/proxy", "proxy", lambda: jsonify(self.forward(request.get_json())), methods=["POST"])
        return app

    def close(self) -> None:
        """Stop both servers."""
        self.server.shutdown()
        self.assets.shutdown()


def _assets_app() -> Flask:
    app = Flask("zendesk-app-assets")
    app.add_url_rule("/assets/<path:name>", "asset", lambda name: send_from_directory(ASSETS, name, max_age=0))
    return app


def _answer(status: int, status_text: str, body: dict) -> dict:
    return {"status": status, "status_text": status_text, "content_type": "application/json", "body": json.dumps(body)}


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

    def claims(self, secret: str) -> dict:
        """The bearer token's claims, verified with the shared secret as the service verifies them."""
        token = self.authorization.removeprefix("Bearer ")
        return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]})


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
