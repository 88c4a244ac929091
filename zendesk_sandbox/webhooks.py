"""What a Zendesk trigger + webhook would send the app: signed JSON POSTs, in order, with retries."""

from __future__ import annotations

import itertools
import json
import logging
import uuid

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


class WebhookDispatcher:
    """Delivers ticket events to the subscribed URL from one background thread."""

    def __init__(self, state: SandboxState, clock: Clock, *, backoff: float = BACKOFF_SECONDS):
        self._state = state
        self._clock = clock
        self._backoff = backoff
        self._worker: SerialWorker[dict] = SerialWorker(
            "sandbox-webhooks", lambda task: self._deliver(task["delivery"], task["secret"]), self._log_failure
        )
        # Zendesk invocation ids are numbers; start high so they look like real ones.
        self._invocation_ids = itertools.count(8350205582)

    def subscribe(self, url: str, secret: str) -> dict:
        """Point the (single) webhook at `url`, signing with `secret`; returns the webhook."""
        webhook = {"id": "01" + uuid.uuid4().hex[:24].upper(), "url": url, "secret": secret}
        with self._state.lock:
            self._state.webhook = webhook
        return webhook

    def unsubscribe(self) -> None:
        """Stop sending events."""
        with self._state.lock:
            self._state.webhook = None

    def notify(self, event: str, ticket: dict) -> None:
        """Queue an event about `ticket` if a webhook is subscribed (call with the state lock held)."""
        webhook = self._state.webhook
        if webhook is None:
            return
        # Trigger placeholders render as text, so every value is a string.
        payload = {
            "ticket_id": str(ticket["id"]),
            "event": event,
            "status": ticket["status"],
            "updated_at": ticket["updated_at"],
        }
        delivery = {
            "invocation_id": str(next(self._invocation_ids)),
            "webhook_id": webhook["id"],
            "url": webhook["url"],
            "event": event,
            "ticket_id": ticket["id"],
            "payload": payload,
            "status": "pending",
            "response_code": None,
            "attempts": [],
        }
        self._state.deliveries.append(delivery)
        self._worker.submit({"delivery": delivery, "secret": webhook["secret"]})

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is done (delivered or given up); False on timeout."""
        return self._worker.wait_idle(timeout)

    def stop(self) -> None:
        """Stop delivering; undelivered events stay pending."""
        self._worker.stop()

    def _log_failure(self, task: dict, error: Exception) -> None:
        # A sandbox bug must not stop later deliveries: log it and let the worker go on.
        log.exception("webhook delivery %s failed", task["delivery"]["invocation_id"])

    def _deliver(self, delivery: dict, secret: str) -> None:
        raw = json.dumps(delivery["payload"]).encode()
        for attempt in range(RETRIES + 1):
            if attempt and self._worker.pause(self._backoff * 2 ** (attempt - 1)):
                return
            headers = {
                "Content-Type": "application/json",
                "x-zendesk-webhook-id": delivery["webhook_id"],
                "x-zendesk-webhook-invocation-id": delivery["invocation_id"],
                **signed_headers(secret, raw, self._clock.now()),
            }
            code, error = None, None
            try:
                response = requests.post(delivery["url"], data=raw, headers=headers, timeout=TIMEOUT_SECONDS)
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
