"""The benchmark's table: figure, value, target, check; plain text so it can be pasted as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass

HEADERS = ("figure", "value", "target", "check")


@dataclass(frozen=True)
class Row:
    figure: str
    value: str = ""
    target: str = ""
    ok: bool | None = None  # None: a figure without a target
    skipped: bool = False  # not measured here: the target column says what it needs


@dataclass(frozen=True)
class Section:
    title: str


def floor_calls(items: int) -> int:
    """The fewest bulk writes for `items` tickets: 100 per call."""
    return math.ceil(items / 100)


def call_target(floor: int) -> int:
    """PRODUCT.md's allowance over the floor: 10% plus 20 calls for lookups and polling."""
    return math.floor(1.1 * floor + 20)


def megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def _cells(row: Row) -> tuple[str, str, str, str]:
    check = "SKIP" if row.skipped else "" if row.ok is None else "PASS" if row.ok else "FAIL"
    return row.figure, row.value, row.target, check


def render(rows: list[Row | Section], notes: list[str]) -> str:
    """The table, sections as full-width lines, then the notes."""
    cells = [_cells(row) for row in rows if isinstance(row, Row)]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    total = sum(widths) + 3 * (len(widths) - 1)

    def line(values: tuple[str, ...]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [line(HEADERS), "-" * total]
    for row in rows:
        if isinstance(row, Section):
            out += ["", f"== {row.title} ".ljust(total, "=")]
        else:
            out.append(line(_cells(row)))
    return "\n".join(out + [""] + [f"* {note}" for note in notes])
