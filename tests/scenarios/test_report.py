"""The incident report a support lead reads after an outage: the same numbers in HTML, CSV and JSON."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from pathlib import Path

from tests.scenarios.test_cli import outage_desk
from tests.scenarios.test_interim_updates import TEXTS

# Any reference the browser would fetch: src/href attributes, CSS url(), @import.
FETCHED = re.compile(r"""(?:\b(?:src|href|xlink:href)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)"""
                     r"""(?!#|data:)([^"')\s>]+)""")


def declared_updated_resolved(account, tmp_path: Path) -> dict:
    """Declare, post one interim update, resolve, and write the report in all three formats."""
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    messages = tmp_path / "update.json"
    messages.write_text(json.dumps(TEXTS), encoding="utf-8")
    for step in (("declare", "--title", "API <down>", "--query", "API", "--since", since),
                 ("update", "--message-file", str(messages)), ("resolve",),
                 ("report", "--output", "report.html"), ("report", "--format", "csv", "--output", "report.csv"),
                 ("report", "--format", "json", "--output", "report.json")):
        done = outage_desk(account, tmp_path, *step)
        assert done.returncode == 0, done.stderr
    return {"html": (tmp_path / "report.html").read_text(encoding="utf-8"),
            "csv": list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text(encoding="utf-8")))),
            "json": json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))}


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The cells of the table with this id, as a reader sees them."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_the_report_opens_with_a_timeline_and_shows_the_same_numbers_in_every_format(account, tmp_path):
    report = declared_updated_resolved(account, tmp_path)
    page, rows, data = report["html"], report["csv"], report["json"]
    summary = data["summary"]

    # The timeline comes first: an SVG chart with its axes named and every milestone drawn.
    assert page.index('id="timeline"') < page.index("Time to acknowledge")
    chart = page[page.index("<svg"):page.index("</svg>")]
    assert "time (UTC)" in chart and "new affected tickets per 5 min" in chart
    for marker in ("marker-start-", "marker-declared-", "marker-update-", "marker-resolved-"):
        assert marker in chart, marker
    assert len(data["interim_updates"]) == 1 and "update 1" in chart
    assert all(b["tickets"] >= 0 for b in data["volume"])
    assert sum(b["tickets"] for b in data["volume"]) == summary["tickets"] == len(rows)

    # The CSV lists the JSON's tickets, column for column.
    assert [{k: str(v) if v is not None else "" for k, v in t.items()} for t in data["tickets"]] == rows

    # The times table: one row for all tickets, one per channel, one per group, counts as in the CSV.
    times = {(kind, name): cells for kind, name, *cells in table_rows(page, "times")[1:]}
    assert times[("all", "")][0] == str(len(rows))
    by_channel = Counter(r["channel"] or "unknown" for r in rows)
    by_group = Counter(f"group {r['group_id']}" if r["group_id"] else "no group" for r in rows)
    assert {name: int(cells[0]) for (kind, name), cells in times.items() if kind == "channel"} == by_channel
    assert {name: int(cells[0]) for (kind, name), cells in times.items() if kind == "group"} == by_group
    assert {name: t["tickets"] for name, t in summary["times_by_channel"].items()} == by_channel
    overall = summary["time_to_notify_seconds"]
    assert overall["p90"] >= overall["median"] >= 0 and times[("all", "")][3] != "-"

    # Who was notified per group, and the call-back list, agree with the CSV's notification column.
    sent = Counter(f"group {r['group_id']}" if r["group_id"] else "no group"
                   for r in rows if r["notification"] == "sent")
    assert {g: sum(a.values()) for g, a in summary["notified_by_group"].items()} == sent
    notified = {cells[0]: cells[1] for cells in table_rows(page, "notified")[1:]}
    assert set(notified) == set(sent)
    callbacks = [int(r["ticket_id"]) for r in rows if r["notification"] == "callback"]
    assert summary["callback_tickets"] == callbacks
    for ticket_id in callbacks:
        assert f"<li>#{ticket_id}</li>" in page

    # "sweep" and the other take-in sources are explained in words, with their counts.
    sources = {cells[0]: (cells[1], int(cells[2])) for cells in table_rows(page, "sources")[1:]}
    assert {name: count for name, (_, count) in sources.items()} == Counter(r["source"] for r in rows)
    assert all(meaning for meaning, _ in sources.values())

    # Nothing is fetched when the page is opened: no CDN, no script, and the title is escaped.
    assert FETCHED.findall(page) == [] and "<script" not in page
    assert "API &lt;down&gt;" in page and "API <down>" not in page
