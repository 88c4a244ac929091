"""The sandbox Flask app (a local stand-in for Zendesk's Support API) and a threaded server for it."""

from __future__ import annotations

import threading

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from zendesk_sandbox.clock import Clock, SystemClock
from zendesk_sandbox import (
    api_account_settings,
    api_apps,
    api_automations,
    api_chat_settings,
    api_comment_redaction,
    api_incremental,
    api_jobs,
    api_macros,
    api_merge,
    api_organizations,
    api_search,
    api_sla_policies,
    api_talk,
    api_ticket_fields,
    api_tickets,
    api_trigger_categories,
    api_triggers,
    api_users,
    api_webhooks,
    control,
    control_automations,
    control_talk,
    guard,
    injection,
)
from zendesk_sandbox.context import Sandbox
from zendesk_sandbox.errors import ApiError
from zendesk_sandbox.faults import Faults
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.talk import TalkState
from zendesk_sandbox.tickets import UpdateError


def create_sandbox_app(
    state: SandboxState | None = None,
    *,
    email: str,
    api_token: str,
    rate_limit_per_minute: int = 700,
    job_delay: float = 0.05,
    job_delay_per_ticket: float = 0.0,
    index_delay: float = 10.0,
    clock: Clock | None = None,
    faults: Faults | None = None,
    talk: TalkState | None = None,
    chat_oauth_token: str | None = None,
) -> Flask:
    """Build the sandbox app; `email` + `api_token` are the credentials of the API admin user (id 1).

    `index_delay`: seconds before search sees a ticket's create or update (Zendesk: "up to a few minutes").
    `faults` injects errors, bad answers and failed job items (none by default); /_sandbox/faults changes them.
    `talk`: the account's Talk channel (TalkState.seeded(), three phone lines, unless given).
    `chat_oauth_token`: the token the account's Chat OAuth client issued (the Chat API takes no other); None:
    the account has no Chat API access.
    """
    state = state if state is not None else SandboxState()
    state.set_api_email(email)
    sandbox = Sandbox(
        state,
        clock or SystemClock(),
        api_token=api_token,
        rate_limit_per_minute=rate_limit_per_minute,
        job_delay=job_delay,
        job_delay_per_ticket=job_delay_per_ticket,
        index_delay=index_delay,
        faults=faults or Faults(),
        talk=talk if talk is not None else TalkState.seeded(),
    )
    app = Flask("outage_desk_sandbox")
    app.extensions["sandbox"] = sandbox
    app.extensions["sandbox_chat"] = api_chat_settings.ChatAccount(chat_oauth_token)
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.wsgi_app = _StripJsonSuffix(app.wsgi_app)
    blueprints = (
        api_account_settings,
        api_apps,
        api_chat_settings,
        api_users,
        api_tickets,
        api_comment_redaction,
        api_jobs,
        api_search,
        api_incremental,
        api_ticket_fields,
        api_macros,
        api_merge,
        api_triggers,
        api_trigger_categories,
        api_webhooks,
        api_talk,
        api_organizations,
        api_sla_policies,
        api_automations,
        control,
        control_automations,
        control_talk,
    )
    for module in blueprints:
        app.register_blueprint(module.bp)
    app.before_request(guard.before_request)
    app.before_request(injection.before_request)
    # Flask runs after_request hooks last-registered first: faults change the answer, then guard logs it.
    app.after_request(guard.after_request)
    app.after_request(injection.after_request)
    app.register_error_handler(ApiError, lambda error: (jsonify(error.body), error.status))
    app.register_error_handler(UpdateError, lambda error: (jsonify(error.body()), error.http_status))
    app.register_error_handler(HTTPException, _http_error)
    return app


class SandboxServer:
    """A Flask app served on a daemon thread; `url` is its base URL."""

    def __init__(self, app: Flask, host: str, port: int):
        self.app = app
        self._server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-server", daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving and stop the sandbox's background threads."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        sandbox = self.app.extensions.get("sandbox")
        if sandbox is not None:
            sandbox.close()


def serve_sandbox(app: Flask, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Serve `app` in the background; port 0 picks a free port."""
    return SandboxServer(app, host, port)


class _StripJsonSuffix:
    """Zendesk accepts /api/v2/tickets/1 and /api/v2/tickets/1.json alike; the Webhooks API takes no .json."""

    def __init__(self, wsgi_app):
        self._wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") and path.endswith(".json") and not path.startswith("/api/v2/webhooks"):
            environ["PATH_INFO"] = path.removesuffix(".json")
        return self._wsgi_app(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        """Skip per-request access logs; the sandbox keeps its own call log."""


def _http_error(error: HTTPException):
    if error.code == 404 and request.path.startswith("/api/"):
        return jsonify({"error": "RecordNotFound", "description": "Not found"}), 404
    return jsonify({"error": error.name.replace(" ", ""), "description": error.description}), error.code
