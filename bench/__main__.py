"""`python -m bench`: Zendesk API calls, time and memory of declare and resolve; webhook intake; memory curve;
secrets found in comments."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.bulk import bulk_rows
from bench.intake import intake_rows
from bench.memory import memory_rows
from bench.redaction import redaction_rows
from bench.report import render

PARTS = ("bulk", "intake", "memory", "redaction")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000, help="N for parts 1 and 3")
    parser.add_argument("--large", type=int, default=100_000, help="the larger N of part 3")
    parser.add_argument("--webhook-seconds", type=float, default=30.0,
                        help="measured seconds per app in part 2, over its alternating rounds")
    parser.add_argument("--trace", action="store_true",
                        help="part 3 also reports tracemalloc peaks (its declares run about 3 times slower)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    args = parser.parse_args()
    began = time.monotonic()
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="outage-desk-bench-") as workdir:
        parts = {"bulk": lambda: bulk_rows(args.tickets, Path(workdir)),
                 "intake": lambda: intake_rows(args.webhook_seconds, Path(workdir)),
                 "memory": lambda: memory_rows(args.tickets, args.large, Path(workdir), args.trace),
                 "redaction": redaction_rows}
        for name in args.only or PARTS:
            part_rows, part_notes = parts[name]()
            rows += part_rows
            notes += part_notes
    notes.append(f"Total benchmark time {time.monotonic() - began:.0f} s.")
    print(render(rows, notes))


if __name__ == "__main__":
    main()
