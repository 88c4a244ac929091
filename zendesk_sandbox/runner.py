"""`outage-desk sandbox`: serve a seeded sandbox until interrupted."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

from rich.console import Console

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

SANDBOX_EMAIL = "outage-desk-api@example.com"
# A local stand-in's own credential, not a secret of any real account.
SANDBOX_TOKEN = "sandbox-token"


def run_forever(port: int, tickets: int, rate_limit: int, console: Console) -> None:
    """Seed an outage, serve it on 127.0.0.1:`port`, and print how to point Outage Desk at it."""
    state = SandboxState(api_email=SANDBOX_EMAIL)
    summary = seed_outage(state, tickets=tickets, seed=7, start=datetime.now(timezone.utc) - timedelta(hours=3))
    token = os.environ.get("ZENDESK_API_TOKEN") or SANDBOX_TOKEN
    server = serve_sandbox(
        create_sandbox_app(state, email=SANDBOX_EMAIL, api_token=token, rate_limit_per_minute=rate_limit), port=port
    )
    console.print(f"Sandbox Zendesk at {server.url}: {summary.tickets} tickets, {rate_limit} requests/minute.")
    console.print("Point Outage Desk at it:")
    console.print(f"  export ZENDESK_URL={server.url} ZENDESK_SUBDOMAIN=sandbox ZENDESK_EMAIL={SANDBOX_EMAIL}")
    console.print(
        f"  export ZENDESK_API_TOKEN={token if token == SANDBOX_TOKEN else '<your ZENDESK_API_TOKEN>'}"
        f" OUTAGE_DESK_REFERENT={summary.referent_id}"
    )
    console.print(
        "Then create the webhook and triggers as on a real account (webhooks reach the service only when a"
        " trigger calls them): outage-desk setup --service-url http://127.0.0.1:8000"
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Sandbox stopped.")
    finally:
        server.shutdown()
