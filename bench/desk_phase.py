"""One Outage Desk phase, declare or resolve, in a process of its own; prints its figures as one JSON line.

Configured from the environment like the `outage-desk` command. Memory is this process's alone:
the sandbox runs elsewhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import tracemalloc
from datetime import datetime

from app.config import load_config
from app.incident.model import IncidentSpec
from app.incident.service import OutageDesk
from app.wiring import build_desk

TITLE = "API down: 503 on every call"
QUERY = "API"


def declare(desk: OutageDesk, since: datetime) -> dict:
    """Create the problem ticket and take in every matching ticket (search export, then bulk writes)."""
    report = desk.declare(IncidentSpec(title=TITLE, query=QUERY, started_at=since, severity=2))
    return {"found": report.found, "taken_in": report.taken_in, "acknowledged": report.acknowledged,
            "failed": len(report.retrying) + len(report.given_up),
            "skipped": report.skipped_solved + report.skipped_agent_requester}


def resolve(desk: OutageDesk) -> dict:
    """Send the closing replies and callback notes, then solve the problem ticket."""
    report = desk.resolve(desk.incident())
    return {"sent": sum(report.sent.values()), "callbacks": len(report.callbacks), "failed": len(report.given_up),
            "pending": report.pending, "problem_solved": report.problem_solved}


def _status_kib(field: str) -> int:
    """A figure of /proc/self/status (Linux), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> int:
    """Start the peak over from now (Linux's clear_refs "5"), so start-up's own peak — imports,
    migrations — is not taken for the phase's; returns the resident memory now, in bytes."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status_kib("VmRSS")


def _peak_rss() -> int:
    """This process's peak resident memory since the reset, in bytes."""
    return _status_kib("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=("declare", "resolve"))
    parser.add_argument("--since", help="outage start, ISO 8601 (declare)")
    parser.add_argument("--trace", action="store_true", help="also trace Python allocations (tracemalloc peak)")
    args = parser.parse_args()
    # The sandbox's own stats count 429s; per-call warnings would only bury the table.
    logging.basicConfig(level=logging.ERROR)
    desk = build_desk(load_config(dotenv_path=None))
    figures = {"rss_before": _reset_peak_rss()}
    if args.trace:
        tracemalloc.start()
    began = time.monotonic()
    if args.phase == "declare":
        figures.update(declare(desk, datetime.fromisoformat(args.since)))
    else:
        figures.update(resolve(desk))
    figures["wall_seconds"] = time.monotonic() - began
    if args.trace:
        figures["traced_peak"] = tracemalloc.get_traced_memory()[1]
    figures["rss_peak"] = _peak_rss()
    figures["client_calls"] = desk.gateway.calls
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
