"""Test helpers: a frozen clock, a webhook sender that signs like Zendesk, a polling wait, a Slack channel."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.intake.signature import ZendeskSignature


class FrozenClock:
    """A clock that only moves when told to; sleeps are recorded in `sleeps`, not slept."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        """The frozen wall time (UTC)."""
        return self._now

    def monotonic(self) -> float:
        """Seconds on a counter that moves with :meth:`advance` and :meth:`sleep` only."""
        # Callers only subtract readings, and wall time never jumps here, so it can be the counter.
        return self._now.timestamp()

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move time on by `seconds` without waiting."""
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time on by `seconds`."""
        self._now += timedelta(seconds=seconds)


class WebhookSender:
    """Posts trigger bodies to the service, signed by the production signature class."""

    def __init__(self, client, secret: str, clock):
        self.client = client
        self.signature = ZendeskSignature(secret, clock)
        self.invocations = 0

    def post(self, body: bytes, headers: dict | None = None, invocation_id: str | None = None):
        self.invocations += 1
        signed = self.signature.headers(body)
        signed["Content-Type"] = "application/json"
        signed["X-Zendesk-Webhook-Invocation-Id"] = invocation_id or f"inv-{self.invocations}"
        signed.update(headers or {})
        return self.client.post("/webhooks/zendesk", data=body, headers=signed)

    def ticket_event(self, ticket_id: int, event: str = "ticket.created", **kwargs):
        body = json.dumps({"ticket_id": str(ticket_id), "event": event}).encode()
        return self.post(body, **kwargs)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> None:
    """Poll `predicate` until it holds, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


class SlackChannel:
    """A Slack incoming webhook on loopback: what the team's channel would show, message by message."""

    def __init__(self):
        self.messages: list[str] = []
        channel = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                channel.messages.append(json.loads(body)["text"])
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self._server.server_port}/services/T000/B000/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
