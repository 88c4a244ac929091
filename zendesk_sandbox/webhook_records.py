"""Webhooks API records: validation, ULID ids, signing secrets and the JSON Zendesk returns.

Shapes follow developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/ and Zendesk's
recorded answers in zenpy's test cassettes (create 201 without the secret, PUT/PATCH/DELETE 204,
PUT clearing what it omits, the secret as base64 of 32 bytes).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from zendesk_sandbox.validation import Problems

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REQUEST_FORMATS = ("json", "xml", "form_encoded")
STATUSES = ("active", "inactive")
CONDITIONAL_TICKET_EVENTS = "conditional_ticket_events"
EVENT_TYPE_PREFIX = "zen:event-type:"
REQUIRED = ("name", "endpoint", "http_method", "request_format", "status")
OPTIONAL = ("description", "subscriptions", "authentication", "custom_headers")
# Secret parts of each authentication type's data; the API never shows them again.
AUTHENTICATION = {"basic_auth": ("username", "password"), "bearer_token": ("token",), "api_key": ("name", "value")}
_SHOWN_DATA = {"basic_auth": ("username",), "bearer_token": (), "api_key": ("name",)}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now: datetime) -> str:
    """A ULID (26 Crockford base32 characters: 48-bit milliseconds, 80 random bits), like Zendesk's ids."""
    number = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def new_secret() -> dict:
    """A fresh signing secret object."""
    return {"secret": base64.b64encode(secrets.token_bytes(32)).decode(), "algorithm": "SHA256"}


def writable(spec: dict) -> dict:
    """The attributes of a request's `webhook` object that an admin may set."""
    return {name: spec[name] for name in (*REQUIRED, *OPTIONAL) if name in spec}


def check(webhook: dict, problems: Problems, *, was: dict | None = None) -> None:
    """Note everything wrong with a webhook's attributes (`was`: the stored webhook being changed)."""
    for name in REQUIRED:
        if webhook.get(name) in (None, ""):
            problems.add(name, f"{name} is required", "BlankValue")
    if webhook.get("name") is not None and not isinstance(webhook["name"], str):
        problems.add("name", "name must be text")
    endpoint = webhook.get("endpoint")
    if endpoint and not _http_url(endpoint):
        problems.add("endpoint", f"endpoint {endpoint!r} is not an http or https URL")
    for name, allowed in (("http_method", HTTP_METHODS), ("request_format", REQUEST_FORMATS), ("status", STATUSES)):
        if webhook.get(name) not in (None, "", *allowed):
            problems.add(name, f"{name} must be one of {', '.join(allowed)}")
    if webhook.get("description") is not None and not isinstance(webhook["description"], str):
        problems.add("description", "description must be text")
    _check_subscriptions(webhook, problems, was)
    _check_authentication(webhook.get("authentication"), problems)
    headers = webhook.get("custom_headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        problems.add("custom_headers", "custom_headers must map header names to text")


def webhook_json(webhook: dict) -> dict:
    """A webhook as the API shows it: no signing secret, authentication without its secrets."""
    shown = {key: value for key, value in webhook.items() if key not in ("signing_secret", "authentication")}
    authentication = webhook.get("authentication")
    if authentication:
        kind = authentication["type"]
        visible = {"type": kind}
        data = {key: authentication["data"][key] for key in _SHOWN_DATA[kind]}
        if data:
            visible["data"] = data
        visible["add_position"] = authentication["add_position"]
        shown["authentication"] = visible
    return shown


def _http_url(endpoint: Any) -> bool:
    if not isinstance(endpoint, str):
        return False
    parts = urlsplit(endpoint)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_subscriptions(webhook: dict, problems: Problems, was: dict | None) -> None:
    """Either ["conditional_ticket_events"] (triggers, automations) or Zendesk event types, never both."""
    subscriptions = webhook.get("subscriptions", [])
    if not isinstance(subscriptions, list) or not all(isinstance(item, str) for item in subscriptions):
        problems.add("subscriptions", "subscriptions must be a list of event names")
        return
    events = [item for item in subscriptions if item != CONDITIONAL_TICKET_EVENTS]
    if CONDITIONAL_TICKET_EVENTS in subscriptions and events:
        problems.add("subscriptions", f"subscriptions: {CONDITIONAL_TICKET_EVENTS} can't be combined with event types")
    for event in events:
        if not event.startswith(EVENT_TYPE_PREFIX):
            problems.add("subscriptions", f"subscriptions: {event!r} is not a Zendesk event type")
    if events and (webhook.get("http_method"), webhook.get("request_format")) != ("POST", "json"):
        problems.add("subscriptions", "subscriptions: webhooks subscribed to Zendesk events must POST json")
    if was is not None and _connection(was["subscriptions"]) != _connection(subscriptions) and was["subscriptions"]:
        problems.add("subscriptions", "subscriptions: a webhook can't switch between triggers and events")


def _connection(subscriptions: list[str]) -> str:
    return "trigger" if CONDITIONAL_TICKET_EVENTS in subscriptions else "events"


def _check_authentication(authentication: Any, problems: Problems) -> None:
    if authentication is None:
        return
    if not isinstance(authentication, dict) or authentication.get("type") not in AUTHENTICATION:
        problems.add("authentication", f"authentication type must be one of {', '.join(AUTHENTICATION)}")
        return
    data = authentication.get("data")
    needed = AUTHENTICATION[authentication["type"]]
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) and data[key] for key in needed):
        problems.add("authentication", f"authentication: {authentication['type']} needs data with {', '.join(needed)}")
    if authentication.get("add_position") != "header":
        problems.add("authentication", "authentication: add_position must be header")
