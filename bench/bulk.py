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
    """Declare then resolve `tickets` outage tickets, each phase in its own process; then declare
    again on a fresh account with acknowledgements off, the tagging pass alone."""
    with sandbox(tickets, RATE_LIMIT, JOB_DELAY, JOB_DELAY_PER_TICKET) as box:
        env = box.desk_env(f"sqlite:///{workdir / 'bulk.db'}")
        start = box.stats()
        declared = run_phase("declare", env, workdir, "--since", box.since)
        middle = box.stats()
        resolved = run_phase("resolve", env, workdir)
        end = box.stats()
    with sandbox(tickets, RATE_LIMIT, JOB_DELAY, JOB_DELAY_PER_TICKET) as box:
        env = box.desk_env(f"sqlite:///{workdir / 'tag-only.db'}") | {"OUTAGE_DESK_ACK_MACRO": "off"}
        before = box.stats()
        tagged = run_phase("declare", env, workdir, "--since", box.since)
        tag_calls = box.stats() - before
    declare_calls, resolve_calls = middle - start, end - middle
    acknowledged = declare_calls.emails  # take-in notes are private: every email is an acknowledgement
    notified = resolved["sent"] + resolved["callbacks"]
    tag_floor = floor_calls(tagged["taken_in"])
    ack_floor = floor_calls(declared["taken_in"] + acknowledged)
    resolve_floor = floor_calls(notified)
    rows: list[Row | Section] = [
        Section(f"1. Bulk paths, N = {tickets:,} ({box.seeded:,} tickets seeded; sandbox {RATE_LIMIT} req/min, "
                f"jobs {JOB_DELAY} s + {JOB_DELAY_PER_TICKET} s/ticket, run one at a time)"),
        Row("declare (runbook: take-in + acknowledgement): taken in / acknowledged / failed",
            f"{declared['taken_in']:,} / {acknowledged:,} / {declared['failed']}", f"{tickets:,} / - / 0",
            declared["taken_in"] == tickets and not declared["failed"]),
        *_call_rows(declare_calls, "ceil((N + acks)/100), one comment per update", ack_floor),
        Row("  wall time", f"{declared['wall_seconds']:.1f} s"),
        Row("  peak RSS of the desk process (at start)",
            f"{megabytes(declared['rss_peak'])} ({megabytes(declared['rss_before'])})"),
        Row("declare, tagging only (OUTAGE_DESK_ACK_MACRO=off): taken in / emails / failed",
            f"{tagged['taken_in']:,} / {tag_calls.emails} / {tagged['failed']}", f"{tickets:,} / 0 / 0",
            tagged["taken_in"] == tickets and not tag_calls.emails and not tagged["failed"]),
        *_call_rows(tag_calls, "ceil(N/100)", tag_floor),
        Row("  wall time", f"{tagged['wall_seconds']:.1f} s"),
        Row("resolve: emailed + callback notes / failed / pending",
            f"{resolved['sent']:,} + {resolved['callbacks']:,} / {resolved['failed']} / {resolved['pending']}",
            f"{tickets:,} in all", notified == tickets and not resolved["failed"] and not resolved["pending"]),
        Row("  problem ticket solved", str(resolved["problem_solved"]), "True", resolved["problem_solved"]),
        *_call_rows(resolve_calls, "ceil(N/100)", resolve_floor),
        Row("  wall time", f"{resolved['wall_seconds']:.1f} s"),
        Row("  peak RSS of the desk process (at start)",
            f"{megabytes(resolved['rss_peak'])} ({megabytes(resolved['rss_before'])})"),
    ]
    notes = ["API calls are the sandbox's count of /api/v2 requests during each phase, 429s included; "
             "declare's acknowledgements are its emails (take-in notes are private).",
             "Zendesk takes one comment per ticket update, so the runbook's private \"API DOWN\" note and the "
             "public acknowledgement are two updates: declare's floor counts both."]
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
