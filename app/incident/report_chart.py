"""The report's timeline, drawn by matplotlib's SVG backend: ticket volume per 5 minutes with the
incident's start, declaration, interim updates and resolution marked.

matplotlib rather than Vega-Lite: it renders on the server to plain SVG that goes inline in the
HTML, so the page needs no JavaScript and no CDN when opened (a report mailed or archived still
shows its chart), and it is one pure-Python dependency with no browser at render time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import matplotlib

matplotlib.use("svg")  # no display on a server; SVG only

import matplotlib.dates as mdates  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402

# Garden's palette, as the rest of the page.
BAR, TEXT, GRID = "#1f73b7", "#2f3941", "#d8dcde"
MARKER_COLOURS = {"start": "#cc3340", "declared": "#ed8f1c", "update": "#5a6b7b", "resolved": "#038153"}


@dataclass(frozen=True)
class Marker:
    kind: str  # start | declared | update | resolved
    at: datetime
    label: str


def timeline_svg(volume: list[tuple[datetime, int]], bucket: timedelta, markers: list[Marker], title: str) -> str:
    """An inline <svg> element (no XML prologue), with ids on the markers so a reader or a test finds them."""
    figure = Figure(figsize=(10, 3.6))
    axes = figure.add_subplot()
    if volume:
        width = bucket / timedelta(days=1)  # matplotlib's dates are in days
        axes.bar([moment for moment, _ in volume], [count for _, count in volume], width=width * 0.9,
                 align="edge", color=BAR, label="new tickets", gid="volume-bars")
    top = max((count for _, count in volume), default=0) or 1
    moments = [moment for moment, _ in volume] + [marker.at for marker in markers]
    middle = min(moments) + (max(moments) - min(moments)) / 2
    for index, marker in enumerate(markers):
        colour = MARKER_COLOURS[marker.kind]
        axes.axvline(marker.at, color=colour, linewidth=1.6, linestyle="--" if marker.kind == "update" else "-",
                     gid=f"marker-{marker.kind}-{index}")
        axes.annotate(marker.label, (mdates.date2num(marker.at), top * (1.02 + 0.09 * (index % 3))),
                      color=colour, fontsize=8, annotation_clip=False,
                      # Labels in the right half read leftwards, so the last ones stay inside the figure.
                      ha="right" if marker.at > middle else "left", xytext=(-3 if marker.at > middle else 3, 0),
                      textcoords="offset points")
    axes.set_ylim(0, top * 1.3)
    axes.set_xlabel("time (UTC)", color=TEXT)
    axes.set_ylabel("new affected tickets per 5 min", color=TEXT)
    axes.set_title(title, color=TEXT, fontsize=11, loc="left")
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    out = io.StringIO()
    # Text stays text (selectable, searchable, testable), not glyph paths; no date stamp, so renders compare equal.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "outage-desk"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]
