"""Part 1: declare and resolve N tickets against a rate-limited sandbox with realistic job delays."""

from __future__ import annotations

import time
from pathlib import Path

from bench.processes import ApiStats, run_phase, sandbox
from bench.sandbox_server import INDEX_LAG
from bench.report import Row, Section, call_target, floor_calls, megabytes

RATE_LIMIT = 700
JOB_DELAY = 0.5
JOB_DELAY_PER_TICKET = 0.005
TOP_ENDPOINTS = 4
WRITES = "PUT /api/v2/tickets/update_many"


def bulk_rows(tickets: int, workdir: Path) -> tuple[list[Row | Section], list[str]]:
    """Declare then resolve `tickets` outage tickets, each phase in its own process."""
    with sandbox(tickets, RATE_LIMIT, JOB_DELAY, JOB_DELAY_PER_TICKET) as box:
        env = box.desk_env(f"sqlite:///{workdir / 'bulk.db'}")
        start = box.stats()
        declared = run_phase("declare", env, workdir, "--since", box.since)
        # An outage lasts longer than search takes to index declare's tags: resolve then finds every
        # ticket in the export. Right after declare it would read the not-yet-indexed ones by id too.
        time.sleep(INDEX_LAG + 1)
        middle = box.stats()
        resolved = run_phase("resolve", env, workdir)
        end = box.stats()
    declare_calls, resolve_calls = middle - start, end - middle
    notified = resolved["sent"] + resolved["callbacks"]
    floor = floor_calls(declared["taken_in"])
    writes = declare_calls.by_endpoint[WRITES]
    write_target = 1.15 * floor + 5
    # Zendesk runs the jobs one at a time here: their own duration is the least declare can take.
    job_floor = floor * JOB_DELAY + declared["taken_in"] * JOB_DELAY_PER_TICKET
    rows: list[Row | Section] = [
        Section(f"1. Bulk paths, N = {tickets:,} ({box.seeded:,} tickets seeded; sandbox {RATE_LIMIT} req/min, "
                f"jobs {JOB_DELAY} s + {JOB_DELAY_PER_TICKET} s/ticket, run one at a time)"),
        Row("declare (take-in with its acknowledgement or note, one write per ticket): taken in / acknowledged / "
            "not yet", f"{declared['taken_in']:,} / {declared['acknowledged']:,} / {declared['failed']}",
            f"{tickets:,} / - / 0", declared["taken_in"] == tickets and not declared["failed"]),
        Row("  bulk writes vs 1.15 x ceil(N/100) + 5", str(writes), f"<= {write_target:.0f}", writes <= write_target),
        *_call_rows(declare_calls, "ceil(N/100)", floor),
        Row("  wall time vs 1.15 x the jobs' own time", f"{declared['wall_seconds']:.1f} s",
            f"<= {1.15 * job_floor:.1f} s", declared["wall_seconds"] <= 1.15 * job_floor),
        Row("  peak RSS of the desk process (at start)",
            f"{megabytes(declared['rss_peak'])} ({megabytes(declared['rss_before'])})"),
        Row("resolve: emailed + callback notes / given up / pending",
            f"{resolved['sent']:,} + {resolved['callbacks']:,} / {resolved['failed']} / {resolved['pending']}",
            f"{tickets:,} in all", notified == tickets and not resolved["failed"] and not resolved["pending"]),
        Row("  problem ticket solved", str(resolved["problem_solved"]), "True", resolved["problem_solved"]),
        *_call_rows(resolve_calls, "ceil(N/100)", floor_calls(notified)),
        Row("  wall time", f"{resolved['wall_seconds']:.1f} s"),
        Row("  peak RSS of the desk process (at start)",
            f"{megabytes(resolved['rss_peak'])} ({megabytes(resolved['rss_before'])})"),
    ]
    notes = ["API calls are the sandbox's count of /api/v2 requests during each phase, 429s included.",
             f"Resolve starts once search has indexed declare's writes (the sandbox lags {INDEX_LAG:.0f} s, Zendesk "
             "minutes): sooner, it reads the tickets the index lacks by id, 100 a call.",
             "Zendesk takes one comment per ticket update: a customer with an email address gets the "
             "acknowledgement in the take-in write itself, the others the private \"API DOWN\" note, so declare "
             "writes each ticket once."]
    return rows, notes


def _call_rows(stats: ApiStats, floor_name: str, floor: int) -> list[Row]:
    """A phase's API calls against its floor, then where they went: the busiest endpoints, the rest summed."""
    top = stats.by_endpoint.most_common(TOP_ENDPOINTS)
    rest = stats.calls - sum(count for _, count in top)
    return [
        Row("  Zendesk API calls (of which 429)", f"{stats.calls} ({stats.rate_limited})"),
        Row(f"  floor: {floor_name}", str(floor)),
        Row("  vs 1.1 x floor + 20", str(stats.calls), f"<= {call_target(floor)}", stats.calls <= call_target(floor)),
        *(Row(f"    {endpoint}", str(count)) for endpoint, count in top),
        *([Row("    other endpoints", str(rest))] if rest else []),
    ]
