"""Part 3: declare's peak memory at N and 10 x N: the streaming backfill should stay flat."""

from __future__ import annotations

from pathlib import Path

from bench.processes import run_phase, sandbox
from bench.report import Row, Section, megabytes

# Only the memory curve matters here: a fast sandbox keeps 10 x N within minutes.
RATE_LIMIT = 100_000
RATIO_TARGET = 1.5


def memory_rows(small: int, large: int, workdir: Path, trace: bool) -> tuple[list[Row | Section], list[str]]:
    """Declare `small` then `large` tickets, each in a fresh desk process; `trace` adds tracemalloc peaks."""
    runs = {}
    for tickets in (small, large):
        with sandbox(tickets, RATE_LIMIT, 0.0, 0.0, lift_endpoint_limits=True) as box:
            env = box.desk_env(f"sqlite:///{workdir / f'memory-{tickets}.db'}")
            runs[tickets] = run_phase("declare", env, workdir, "--since", box.since, *(["--trace"] if trace else []))
    small_run, large_run = runs[small], runs[large]
    rows: list[Row | Section] = [
        Section(f"3. Declare's memory, N = {small:,} vs {large:,} (sandbox raised to {RATE_LIMIT:,} req/min, "
                "export and incremental-export limits too, no job delay: for the curve only)"),
        *(Row(f"N = {n:,}: taken in, wall time", f"{run['taken_in']:,}, {run['wall_seconds']:.1f} s", f"{n:,}",
              run["taken_in"] == n) for n, run in runs.items()),
        *(Row(f"N = {n:,}: peak RSS (at start)", f"{megabytes(run['rss_peak'])} ({megabytes(run['rss_before'])})")
          for n, run in runs.items()),
        _ratio("peak RSS ratio (whole process, imports included)", large_run["rss_peak"], small_run["rss_peak"]),
        # Beside the target, not under it: the allocator and SQLite's page cache fill to a plateau
        # whose size weighs heavily on the small run's growth; --trace measures Python's own.
        Row("growth ratio (peak RSS minus RSS at start)", f"{_growth(large_run) / max(_growth(small_run), 1):.2f}"),
    ]
    if trace:
        rows += [Row(f"N = {n:,}: tracemalloc peak", megabytes(run["traced_peak"])) for n, run in runs.items()]
        rows.append(_ratio("tracemalloc peak ratio (Python allocations)", large_run["traced_peak"],
                           small_run["traced_peak"]))
    notes = ["Memory figures are the desk process's only; the sandbox runs in its own process. "
             "'At start' is the resident memory after imports, wiring and migrations, when the peak is reset so "
             "that start-up's own peak is not taken for declare's."]
    return rows, notes


def _growth(run: dict) -> int:
    return run["rss_peak"] - run["rss_before"]


def _ratio(name: str, large: int, small: int) -> Row:
    ratio = large / small if small else float("inf")  # no growth at all at small N
    return Row(name, f"{ratio:.2f}", f"<= {RATIO_TARGET}", ratio <= RATIO_TARGET)
