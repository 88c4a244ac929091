"""What a Zendesk trigger + webhook would send the app: signed JSON POSTs, in order, with retries."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from collections import deque

import requests

from app.clock import Clock
from app.intake.signature import ZendeskSignature
from app.sandbox.state import SandboxState
from app.sandbox.timefmt import iso

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
        self._queue: deque[dict] = deque()
        self._wake = threading.Condition()
        self._busy = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
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
        with self._wake:
            self._queue.append({"delivery": delivery, "secret": webhook["secret"]})
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is done (delivered or given up); False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._queue and not self._busy, timeout)

    def stop(self) -> None:
        """Stop delivering; undelivered events stay pending."""
        self._stopped.set()
        with self._wake:
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._stopped.is_set())
                if self._stopped.is_set():
                    return
                task = self._queue.popleft()
                self._busy = True
            try:
                self._deliver(task["delivery"], task["secret"])
            except Exception:  # a sandbox bug must not stop later deliveries
                log.exception("webhook delivery %s failed", task["delivery"]["invocation_id"])
            finally:
                with self._wake:
                    self._busy = False
                    self._wake.notify_all()

    def _deliver(self, delivery: dict, secret: str) -> None:
        raw = json.dumps(delivery["payload"]).encode()
        for attempt in range(RETRIES + 1):
            if attempt and self._stopped.wait(self._backoff * 2 ** (attempt - 1)):
                return
            headers = {
                "Content-Type": "application/json",
                "x-zendesk-webhook-id": delivery["webhook_id"],
                "x-zendesk-webhook-invocation-id": delivery["invocation_id"],
                **ZendeskSignature(secret, clock=self._clock).headers(raw),
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
