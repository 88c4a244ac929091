"""Webhook invocations from trigger actions: signed requests to the webhook's endpoint, in order, with retries.

Requests follow Zendesk's anatomy of a webhook request (developer.zendesk.com/documentation/webhooks/):
the endpoint, method and format of the Webhooks API record, its authentication and custom headers,
x-zendesk-webhook-id, x-zendesk-webhook-invocation-id and the signature headers over the raw body.
"""

from __future__ import annotations

import base64
import itertools
import logging

import requests

from zendesk_sandbox.clock import Clock
from zendesk_sandbox.signing import signed_headers
from zendesk_sandbox.serial import SerialWorker
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.timefmt import iso

log = logging.getLogger(__name__)
RETRIES = 3
BACKOFF_SECONDS = 0.05
TIMEOUT_SECONDS = 10.0
CONTENT_TYPES = {
    "json": "application/json",
    "xml": "application/xml",
    "form_encoded": "application/x-www-form-urlencoded",
}
BODYLESS_METHODS = ("GET", "DELETE")


class WebhookDispatcher:
    """Sends webhook invocations from one background thread; `state.deliveries` records each one."""

    def __init__(self, state: SandboxState, clock: Clock, *, backoff: float = BACKOFF_SECONDS):
        self._state = state
        self._clock = clock
        self._backoff = backoff
        self._worker: SerialWorker[dict] = SerialWorker("sandbox-webhooks", self._deliver, self._log_failure)
        # Zendesk invocation ids are numbers; start high so they look like real ones.
        self._invocation_ids = itertools.count(8350205582)

    def invoke(self, webhook: dict, body: str, *, ticket_id: int, trigger_id: int) -> None:
        """Queue one invocation of a Webhooks API record with a rendered body (call with the state lock held)."""
        method = webhook["http_method"]
        raw = b"" if method in BODYLESS_METHODS else body.encode()
        headers = {
            "Content-Type": CONTENT_TYPES[webhook["request_format"]],
            **(webhook.get("custom_headers") or {}),
            **_authentication(webhook.get("authentication")),
            "x-zendesk-webhook-id": webhook["id"],
        }
        delivery = {
            "invocation_id": str(next(self._invocation_ids)),
            "webhook_id": webhook["id"],
            "trigger_id": trigger_id,
            "ticket_id": ticket_id,
            "method": method,
            "url": webhook["endpoint"],
            "body": raw.decode(),
            "status": "pending",
            "response_code": None,
            "attempts": [],
        }
        self._state.deliveries.append(delivery)
        self._worker.submit(
            {"delivery": delivery, "raw": raw, "headers": headers, "secret": webhook["signing_secret"]["secret"]}
        )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued invocation is done (delivered or given up); False on timeout."""
        return self._worker.wait_idle(timeout)

    def stop(self) -> None:
        """Stop delivering; undelivered invocations stay pending."""
        self._worker.stop()

    def _log_failure(self, task: dict, error: Exception) -> None:
        # A sandbox bug must not stop later deliveries: log it and let the worker go on.
        log.exception("webhook delivery %s failed", task["delivery"]["invocation_id"])

    def _deliver(self, task: dict) -> None:
        delivery, raw = task["delivery"], task["raw"]
        for attempt in range(RETRIES + 1):
            if attempt and self._worker.pause(self._backoff * 2 ** (attempt - 1)):
                return
            # A retry is the same invocation, signed again at its own time.
            headers = {
                **task["headers"],
                "x-zendesk-webhook-invocation-id": delivery["invocation_id"],
                **signed_headers(task["secret"], raw, self._clock.now()),
            }
            code, error = None, None
            try:
                response = requests.request(
                    delivery["method"], delivery["url"], data=raw, headers=headers, timeout=TIMEOUT_SECONDS
                )
                code = response.status_code
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self._state.lock:
                delivery["attempts"].append({"at": iso(self._clock.now()), "status_code": code, "error": error})
                delivery["response_code"] = code
                retry = code is None or code >= 500
                if not retry:
                    delivery["status"] = "delivered" if code < 300 else "failed"
                    return
        with self._state.lock:
            delivery["status"] = "failed"


def _authentication(authentication: dict | None) -> dict:
    """The header a webhook's authentication adds (add_position is always header)."""
    if not authentication:
        return {}
    data = authentication["data"]
    if authentication["type"] == "bearer_token":
        return {"Authorization": f"Bearer {data['token']}"}
    if authentication["type"] == "basic_auth":
        pair = base64.b64encode(f"{data['username']}:{data['password']}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {data["name"]: data["value"]}
