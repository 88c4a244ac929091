"""Part 1: declare and resolve N tickets against a rate-limited sandbox with realistic job delays."""

from __future__ import annotations

from pathlib import Path

from bench.processes import ApiStats, run_phase, sandbox
from bench.report import Row, Section, call_target, floor_calls, megabytes

RATE_LIMIT = 700
JOB_DELAY = 0.5
JOB_DELAY_PER_TICKET = 0.005
TOP_ENDPOINTS = 4


def bulk_rows(tickets: int, workdir: Path) -> tuple[list[Row | Section], list[str]]:
    """Declare then resolve `tickets` outage tickets, each phase in its own process."""
    with sandbox(tickets, RATE_LIMIT, JOB_DELAY, JOB_DELAY_PER_TICKET) as box:
        env = box.desk_env(f"sqlite:///{workdir / 'bulk.db'}")
        start = box.stats()
        declared = run_phase("declare", env, workdir, "--since", box.since)
        middle = box.stats()
        resolved = run_phase("resolve", env, workdir)
        end = box.stats()
    declare_calls, resolve_calls = middle - start, end - middle
    acknowledged = declare_calls.emails  # take-in notes are private: every email is an acknowledgement
    notified = resolved["sent"] + resolved["callbacks"]
    tag_floor = floor_calls(declared["taken_in"])
    ack_floor = floor_calls(declared["taken_in"] + acknowledged)
    resolve_floor = floor_calls(notified)
    rows: list[Row | Section] = [
        Section(f"1. Bulk paths, N = {tickets:,} ({box.seeded:,} tickets seeded; sandbox {RATE_LIMIT} req/min, "
                f"jobs {JOB_DELAY} s + {JOB_DELAY_PER_TICKET} s/ticket, run one at a time)"),
        Row("declare: taken in / acknowledged / failed",
            f"{declared['taken_in']:,} / {acknowledged:,} / {declared['failed']}", f"{tickets:,} / - / 0",
            declared["taken_in"] == tickets and not declared["failed"]),
        Row("declare: Zendesk API calls (of which 429)", f"{declare_calls.calls} ({declare_calls.rate_limited})"),
        Row("  floor, tag only: ceil(N/100)", str(tag_floor)),
        Row("  floor, tag + ack: ceil((N + acks)/100), one comment per update", str(ack_floor)),
        Row("  vs 1.1 x tag-only floor + 20 (PRODUCT §4 as worded)", str(declare_calls.calls),
            f"<= {call_target(tag_floor)}", declare_calls.calls <= call_target(tag_floor)),
        Row("  vs 1.1 x tag+ack floor + 20 (both passes in one pipeline)", str(declare_calls.calls),
            f"<= {call_target(ack_floor)}", declare_calls.calls <= call_target(ack_floor)),
        *_endpoint_rows(declare_calls),
        Row("declare: wall time", f"{declared['wall_seconds']:.1f} s"),
        Row("declare: peak RSS of the desk process (at start)",
            f"{megabytes(declared['rss_peak'])} ({megabytes(declared['rss_before'])})"),
        Row("resolve: emailed + callback notes / failed / pending",
            f"{resolved['sent']:,} + {resolved['callbacks']:,} / {resolved['failed']} / {resolved['pending']}",
            f"{tickets:,} in all", notified == tickets and not resolved["failed"] and not resolved["pending"]),
        Row("resolve: problem ticket solved", str(resolved["problem_solved"]), "True", resolved["problem_solved"]),
        Row("resolve: Zendesk API calls (of which 429)", f"{resolve_calls.calls} ({resolve_calls.rate_limited})"),
        Row("  floor: ceil(N/100) bulk writes", str(resolve_floor)),
        Row("  vs 1.1 x floor + 20", str(resolve_calls.calls), f"<= {call_target(resolve_floor)}",
            resolve_calls.calls <= call_target(resolve_floor)),
        *_endpoint_rows(resolve_calls),
        Row("resolve: wall time", f"{resolved['wall_seconds']:.1f} s"),
        Row("resolve: peak RSS of the desk process (at start)",
            f"{megabytes(resolved['rss_peak'])} ({megabytes(resolved['rss_before'])})"),
    ]
    notes = ["API calls are the sandbox's count of /api/v2 requests during each phase, 429s included; "
             "declare's acknowledgements are its emails (take-in notes are private)."]
    return rows, notes


def _endpoint_rows(stats: ApiStats) -> list[Row]:
    """Where the calls went: the busiest endpoints, the rest summed."""
    top = stats.by_endpoint.most_common(TOP_ENDPOINTS)
    rest = stats.calls - sum(count for _, count in top)
    rows = [Row(f"    {endpoint}", str(count)) for endpoint, count in top]
    return rows + ([Row("    other endpoints", str(rest))] if rest else [])
