"""A seeded sandbox in its own process, so its memory never counts as Outage Desk's.

Prints one JSON line (url, referent, outage start) and serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from datetime import datetime, timedelta, timezone

from app.incident.model import UNSOLVED
from app.zendesk.provisioning import DEFINITIONS_ROOT
from zendesk_sandbox import guard
from zendesk_sandbox.seed import load_macros, seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState
from app.zendesk.query import parse

API_EMAIL = "outage-desk-api@example.com"
# A local stand-in's own credential, not a secret of any real account.
API_TOKEN = "bench-token"
QUERY = "API"
# About 80% of seeded tickets are unsolved customer tickets about the outage; seed a margin over N.
SEED_FACTOR = 1.35
SEED_MARGIN = 100
OUTAGE_HOURS = 3


def seed_exactly(state: SandboxState, outage_tickets: int, start: datetime) -> int:
    """Seed an outage in which exactly `outage_tickets` tickets are due for take-in; returns the referent's id."""
    summary = seed_outage(state, tickets=math.ceil(outage_tickets * SEED_FACTOR) + SEED_MARGIN, seed=7, start=start,
                          macros=load_macros(DEFINITIONS_ROOT / "macros"))
    due = _due_for_take_in(state)
    if len(due) < outage_tickets:
        raise SystemExit(f"seeded only {len(due)} outage tickets, fewer than {outage_tickets}")
    # The surplus were solved before the declaration, so the backfill rightly leaves them alone.
    for ticket_id in random.Random(3).sample(due, len(due) - outage_tickets):
        state.tickets[ticket_id]["status"] = "solved"
    return summary.referent_id


def _due_for_take_in(state: SandboxState) -> list[int]:
    """Unsolved tickets from customers that the outage query matches (all were created after its start)."""
    query = parse(QUERY)
    due = []
    for ticket in state.tickets.values():
        requester = state.users[ticket["requester_id"]]
        if (ticket["status"] in UNSOLVED and ticket.get("type") != "problem" and requester["role"] == "end-user"
                and query.matches(ticket, requester)):
            due.append(ticket["id"])
    return sorted(due)


# Search lags behind writes (Zendesk: "up to a few minutes"); the sandbox's default is 10 s.
INDEX_LAG = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, required=True, help="outage tickets due for take-in")
    parser.add_argument("--rate-limit", type=int, required=True, help="API requests per minute")
    parser.add_argument("--job-delay", type=float, required=True)
    parser.add_argument("--job-delay-per-ticket", type=float, required=True)
    parser.add_argument("--index-lag", type=float, default=INDEX_LAG, help="seconds before search sees a write")
    parser.add_argument("--lift-endpoint-limits", action="store_true",
                        help="let the search and incremental exports use the whole account limit")
    args = parser.parse_args()
    if args.lift_endpoint_limits:
        # Memory runs only: at 10 incremental pages a minute, 10 x N would take most of an hour.
        for endpoint, (window, _limit, period) in list(guard.ENDPOINT_LIMITS.items()):
            guard.ENDPOINT_LIMITS[endpoint] = (window, args.rate_limit, period)
    state = SandboxState(api_email=API_EMAIL)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=OUTAGE_HOURS)
    referent_id = seed_exactly(state, args.tickets, start)
    server = serve_sandbox(create_sandbox_app(
        state, email=API_EMAIL, api_token=API_TOKEN, rate_limit_per_minute=args.rate_limit,
        job_delay=args.job_delay, job_delay_per_ticket=args.job_delay_per_ticket, index_delay=args.index_lag))
    print(json.dumps({"url": server.url, "referent_id": referent_id, "since": start.isoformat(),
                      "seeded": len(state.tickets)}), flush=True)
    try:
        sys.stdin.read()  # EOF: the benchmark is done with us, or died
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
