"""Chat API, Routing Settings: the account's chat routing, whose `chat_limit.limit` is "chats per agent".

https://developer.zendesk.com/api-reference/live-chat/chat-api/routing_settings/
  GET   /api/v2/chat/routing_settings/account  -> {"data": {routing_mode, chat_limit, skill_routing, ...}}
  PATCH /api/v2/chat/routing_settings/account  (a partial object; nested objects are merged) -> {"data": {...}}
  chat_limit: enabled (bool), limit (integer 0 to 20), limit_type ("account" | "agent"), allow_agent_override (bool);
  routing_mode: "broadcast" | "assigned" | "hybrid".

Authentication, https://developer.zendesk.com/rest_api/docs/chat/auth: "You must use OAuth2 to authenticate all
your API requests to Zendesk Chat"; basic authentication is not supported and Support credentials cannot
authenticate Chat requests (a token from a Chat OAuth client is needed). Zendesk's 401 then reads
{"error": "Unauthorized", "description": "The server could not verify that you are authorized to access the
requested resource"}. An account without a Chat token configured here answers that to every request.
"""

from __future__ import annotations

import copy
import hmac
import threading

from flask import Blueprint, current_app, g, jsonify, request

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, json_body
from zendesk_sandbox.state import API_USER_ID

bp = Blueprint("api_chat_settings", __name__)

UNAUTHORIZED = {"error": "Unauthorized",
                "description": "The server could not verify that you are authorized to access the requested resource"}
ROUTING_MODES = ("broadcast", "assigned", "hybrid")
LIMIT_TYPES = ("account", "agent")
MAX_CHAT_LIMIT = 20


def default_routing() -> dict:
    """A Chat account as a team running the runbook has it: assigned routing, two chats per agent."""
    return {
        "routing_mode": "assigned",
        "chat_limit": {"enabled": True, "limit": 2, "limit_type": "account", "allow_agent_override": False},
        "skill_routing": {"enabled": False, "max_wait_time": 30},
        "reassignment": {"enabled": True, "timeout": 30},
        "auto_idle": {"enabled": False, "reassignments_before_idle": 3, "new_status": "away"},
        "auto_accept": {"enabled": False},
    }


class ChatAccount:
    """The account's Chat side: the OAuth token its Chat API client issued, and its routing settings."""

    def __init__(self, oauth_token: str | None):
        self.oauth_token = oauth_token
        self.lock = threading.Lock()
        self.routing = default_routing()

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.routing)


def chat_account() -> ChatAccount:
    return current_app.extensions["sandbox_chat"]


@bp.before_request
def authenticate():
    """Chat's own OAuth bearer token; the Support guard leaves this blueprint to it."""
    token = chat_account().oauth_token
    auth = request.authorization
    if token is None or auth is None or auth.type != "bearer" or not hmac.compare_digest(auth.token or "", token):
        return jsonify(UNAUTHORIZED), 401
    sandbox = current()
    # Logged and rate-limited like every API call (guard.after_request reads these).
    g.sandbox_user = sandbox.state.user(API_USER_ID)
    g.sandbox_rate, _ = sandbox.limiter.admit([])
    return None


@bp.get("/api/v2/chat/routing_settings/account")
def show():
    return {"data": chat_account().snapshot()}


@bp.patch("/api/v2/chat/routing_settings/account")
def update():
    changes = json_body()
    account = chat_account()
    with account.lock:
        updated = copy.deepcopy(account.routing)
        for key, value in changes.items():
            if key not in updated:
                raise ApiError(400, "InvalidParameter", f"Unknown routing setting {key}")
            if isinstance(updated[key], dict):
                if not isinstance(value, dict):
                    raise ApiError(400, "InvalidParameter", f"{key} must be an object")
                unknown = set(value) - set(updated[key])
                if unknown:
                    raise ApiError(400, "InvalidParameter", f"Unknown {key} property {sorted(unknown)[0]}")
                updated[key].update(value)
            else:
                updated[key] = value
        _check(updated)
        account.routing = updated
        return {"data": copy.deepcopy(updated)}


def _check(routing: dict) -> None:
    """The documented values only: a limit from 0 to 20, the listed modes and scopes, booleans as booleans."""
    limit = routing["chat_limit"]
    if isinstance(limit["limit"], bool) or not isinstance(limit["limit"], int) \
            or not 0 <= limit["limit"] <= MAX_CHAT_LIMIT:
        raise ApiError(400, "InvalidParameter", "chat_limit.limit must be an integer from 0 to 20")
    if limit["limit_type"] not in LIMIT_TYPES:
        raise ApiError(400, "InvalidParameter", "chat_limit.limit_type must be account or agent")
    if routing["routing_mode"] not in ROUTING_MODES:
        raise ApiError(400, "InvalidParameter", "routing_mode must be broadcast, assigned or hybrid")
    for key, value in routing.items():
        if isinstance(value, dict) and not isinstance(value.get("enabled"), bool):
            raise ApiError(400, "InvalidParameter", f"{key}.enabled must be true or false")
