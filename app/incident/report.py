"""The incident report: a timeline of ticket volume with the incident's milestones, time to acknowledge
and to notify per channel and group, who was notified, the call-back list, reopened tickets and SLA
breaches avoided — as JSON, CSV or a self-contained HTML page (its chart: report_chart)."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from jinja2 import Environment

from app.incident.aftercare import ORGANIZATION, REQUESTER, AftercareMark
from app.incident.report_chart import Marker, timeline_svg
from app.incident.sla_plans import Plans, breach_avoided
from app.incident.take_in import ACKNOWLEDGED_TAG
from app.store.tables import AffectedTicketRow, IncidentRow, NotificationRow, StateChangeRow
from app.zendesk.model import Ticket

BUCKET = timedelta(minutes=5)
NOTIFIED = ("sent", "callback")
NO_GROUP = "no group"
# How each ticket came into the incident, in words (the `source` column).
SOURCES = {
    "backfill": "found by the search when the incident was declared",
    "sweep": "found later by the worker's sweep of tickets updated since the start (Zendesk's incremental export)",
    "webhook": "sent in by Zendesk's trigger as the ticket was created",
    "attach": "attached by an agent from the sidebar",
    "reopened": "reopened by its customer after the fix and taken into the follow-up",
}
CSV_COLUMNS = ("ticket_id", "channel", "group_id", "created_at", "taken_in_at", "source", "take_in", "reopened",
               "audience", "language", "notification", "notified_at", "author_id", "reason", "aftercare_until",
               "plan", "sla_breach_avoided")


@dataclass(frozen=True)
class TicketLine:
    """One affected ticket's journey through the outage."""

    ticket_id: int
    channel: str | None
    group_id: int | None
    created_at: datetime | None
    taken_in_at: datetime
    source: str
    take_in: str  # taken | submitted | retry | given_up
    reopened: int
    audience: str | None
    language: str | None
    notification: str | None  # sent | callback | planned | failed | …, None before resolve
    notified_at: datetime | None
    author_id: int | None
    reason: str | None  # why its take-in or its notification was given up, or the last failure
    aftercare_until: datetime | None = None  # its requester or organisation is in aftercare until then
    plan: str | None = None  # its organisation's SLA plan
    sla_breach_avoided: bool | None = None  # see sla_plans.breach_avoided; None: the ticket is gone


def ticket_lines(affected: list[AffectedTicketRow], notifications: dict[int, NotificationRow],
                 tickets: dict[int, Ticket], plans: Plans | None, released_at: datetime,
                 marks: list[AftercareMark] = ()) -> list[TicketLine]:
    """`released_at`: when the incident let its tickets go back under their plans (its end, or now);
    `plans` None: the account's plan field is gone, so no plan and no breach count."""
    until = {(mark.kind, mark.zendesk_id): mark.until for mark in marks}
    lines = []
    for row in sorted(affected, key=lambda r: r.ticket_id):
        ticket, note = tickets.get(row.ticket_id), notifications.get(row.ticket_id)
        created = _parse(ticket.created_at) if ticket else None
        known = ticket is not None and created is not None and plans is not None
        lines.append(TicketLine(
            plan=plans.plan_of(ticket.tags) if known else None,
            sla_breach_avoided=breach_avoided(plans, ticket.tags, created, row.taken_in_at, released_at,
                                              ACKNOWLEDGED_TAG in ticket.tags) if known else None,
            ticket_id=row.ticket_id, channel=ticket.channel if ticket else None,
            group_id=ticket.group_id if ticket else None,
            created_at=_parse(ticket.created_at) if ticket else None, taken_in_at=row.taken_in_at,
            source=row.source, take_in=row.state, reopened=row.reopened,
            audience=note.audience if note else None,
            language=note.language if note else None, notification=note.state if note else None,
            notified_at=note.updated_at if note and note.state in NOTIFIED else None,
            author_id=note.author_id if note else None,
            reason=(note.detail if note and note.state not in NOTIFIED else None) or (
                row.detail if row.state != "taken" else None),
            aftercare_until=(until.get((REQUESTER, ticket.requester_id))
                             or until.get((ORGANIZATION, ticket.organization_id))) if ticket else None))
    return lines


@dataclass(frozen=True)
class IncidentReport:
    incident: IncidentRow
    lines: list[TicketLine]
    # Each state change, oldest first, with who or what made it (a user id, detection, cli, worker).
    changes: list[StateChangeRow] = field(default_factory=list)
    # The requesters and organisations this outage put in aftercare, still in it.
    aftercare: list[AftercareMark] = field(default_factory=list)
    # Tickets whose customer answered the closing email that it still did not work.
    reopened_after: list[int] = field(default_factory=list)
    # When each interim update was posted, oldest first.
    updates: list[datetime] = field(default_factory=list)

    def volume(self) -> list[tuple[datetime, int]]:
        """New affected tickets per 5 minutes, from the outage's start; empty buckets included."""
        created = [line.created_at for line in self.lines if line.created_at]
        if not created:
            return []
        start = _floor(min(min(created), self.incident.started_at))
        counts = Counter(_floor(moment) for moment in created)
        buckets, moment = [], start
        while moment <= max(counts):
            buckets.append((moment, counts.get(moment, 0)))
            moment += BUCKET
        return buckets

    def markers(self) -> list[Marker]:
        incident, markers = self.incident, []
        markers.append(Marker("start", incident.started_at, "outage start"))
        if incident.declared_at:
            markers.append(Marker("declared", incident.declared_at, "declared"))
        markers += [Marker("update", moment, f"update {number}") for number, moment in enumerate(self.updates, 1)]
        if incident.ended_at:
            markers.append(Marker("resolved", incident.ended_at, "resolved"))
        return markers

    def _acknowledge(self, line: TicketLine) -> float | None:
        if line.created_at and line.taken_in_at >= line.created_at:
            return (line.taken_in_at - line.created_at).total_seconds()
        return None

    def _notify(self, line: TicketLine) -> float | None:
        ended = self.incident.ended_at
        return (line.notified_at - ended).total_seconds() if line.notified_at and ended else None

    def _times_by(self, key) -> dict:
        """Time to acknowledge and to notify, per value of `key` (a channel, a group)."""
        groups: dict[str, list[TicketLine]] = {}
        for line in self.lines:
            groups.setdefault(key(line), []).append(line)
        return {name: {"tickets": len(lines), "time_to_acknowledge_seconds": _spread(_known(self._acknowledge, lines)),
                       "time_to_notify_seconds": _spread(_known(self._notify, lines))}
                for name, lines in sorted(groups.items(), key=lambda item: -len(item[1]))}

    def summary(self) -> dict:
        acknowledge, notify = _known(self._acknowledge, self.lines), _known(self._notify, self.lines)
        notified_by_group: dict[str, dict[str, int]] = {}
        for line in self.lines:
            if line.notification == "sent":
                audiences = notified_by_group.setdefault(_group(line), {})
                audiences[line.audience] = audiences.get(line.audience, 0) + 1
        return {
            "tickets": len(self.lines),
            "by_channel": dict(Counter(line.channel or "unknown" for line in self.lines).most_common()),
            "by_group": dict(Counter(_group(line) for line in self.lines).most_common()),
            "by_source": dict(Counter(line.source for line in self.lines).most_common()),
            "times_by_channel": self._times_by(lambda line: line.channel or "unknown"),
            "times_by_group": self._times_by(_group),
            "notified_by_group": notified_by_group,
            "callback_tickets": [line.ticket_id for line in self.lines if line.notification == "callback"],
            "reopened_tickets": [line.ticket_id for line in self.lines if line.reopened],
            "reopened": sum(1 for line in self.lines if line.reopened),
            "reopened_after_fix": len(self.reopened_after),
            "merged": sum(1 for line in self.lines if line.take_in == "merged"),
            # Taking a ticket in and acknowledging its customer happen in the same pipeline, minutes apart.
            "time_to_acknowledge_seconds": _spread(acknowledge),
            "time_to_notify_seconds": _spread(notify),
            "notified": dict(Counter(line.audience for line in self.lines if line.notification == "sent")),
            "callbacks": sum(1 for line in self.lines if line.notification == "callback"),
            "not_notified": sum(1 for line in self.lines if line.notification not in NOTIFIED),
            "take_ins_given_up": sum(1 for line in self.lines if line.take_in == "given_up"),
            # First-reply breaches the outage spared (sla_plans.breach_avoided: an upper bound).
            "sla_breaches_avoided": sum(1 for line in self.lines if line.sla_breach_avoided),
            "notifications_given_up": sum(1 for line in self.lines if line.notification == "given_up"),
            # None when no ticket could be weighed against a plan (no plan field, or tickets gone).
            "sla_known": any(line.sla_breach_avoided is not None for line in self.lines),
        }

    def as_json(self) -> dict:
        incident = self.incident
        return {
            "incident": {"id": incident.id, "title": incident.title, "state": incident.state, "tag": incident.tag,
                         "severity": incident.severity, "started_at": _iso(incident.started_at),
                         "declared_at": _iso(incident.declared_at), "ended_at": _iso(incident.ended_at),
                         "problem_ticket_id": incident.problem_ticket_id},
            "summary": self.summary(),
            "interim_updates": [_iso(moment) for moment in self.updates],
            "state_changes": [{"from": c.from_state, "to": c.to_state, "by": c.changed_by, "at": _iso(c.changed_at)}
                              for c in self.changes],
            "aftercare": [{"kind": m.kind, "zendesk_id": m.zendesk_id, "until": _iso(m.until), "new_tickets": m.tickets}
                          for m in self.aftercare],
            "volume": [{"from": _iso(moment), "tickets": count} for moment, count in self.volume()],
            "tickets": [{key: _iso(value) if isinstance(value, datetime) else value
                         for key, value in asdict(line).items()} for line in self.lines],
        }

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for line in self.as_json()["tickets"]:
            writer.writerow(line)
        return out.getvalue()

    def as_html(self) -> str:
        chart = timeline_svg(self.volume(), BUCKET, self.markers(), "New affected tickets per 5 minutes")
        return _TEMPLATE.render(report=self.as_json(), chart=chart, sources=SOURCES)


def _known(measure, lines: list[TicketLine]) -> list[float]:
    return [seconds for seconds in map(measure, lines) if seconds is not None]


def _group(line: TicketLine) -> str:
    return f"group {line.group_id}" if line.group_id else NO_GROUP


def _spread(seconds: list[float]) -> dict | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return {"median": round(statistics.median(ordered), 1),
            "p90": round(ordered[min(int(0.9 * len(ordered)), len(ordered) - 1)], 1), "max": round(ordered[-1], 1)}


def _floor(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _duration(seconds: float) -> str:
    """Seconds as people read them: 45 s, 12 min, 2 h 13 min."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


# Autoescaped: titles and channels come from people and Zendesk, not from us.
_ENVIRONMENT = Environment(autoescape=True)
_ENVIRONMENT.filters["duration"] = _duration
_TEMPLATE = _ENVIRONMENT.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outage report: {{ report.incident.title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#2f3941;max-width:70rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #d8dcde;padding:.3rem .6rem;text-align:left}th{background:#f8f9f9}
td.n{text-align:right;font-variant-numeric:tabular-nums}.chart svg{max-width:100%;height:auto}
.muted{color:#68737d}
</style></head><body>
{% set s = report.summary %}{% set i = report.incident %}
<h1>{{ i.title }}</h1>
<p>Incident #{{ i.id }} ({{ i.state }}), tag <code>{{ i.tag }}</code>, problem ticket #{{ i.problem_ticket_id }}:
{{ s.tickets }} affected tickets. Started {{ i.started_at }}, declared {{ i.declared_at }},
{{ report.interim_updates|length }} interim update(s), resolved {{ i.ended_at or "not yet" }} (all times UTC).</p>
<h2>Timeline</h2>
<figure class="chart" id="timeline">{{ chart|safe }}
<figcaption class="muted">Bars: affected tickets created in each 5 minutes. Lines: the outage's start, its declaration,
each interim update (dashed) and its resolution.</figcaption></figure>
{% macro spread(value) %}{% if value %}{{ value.median|duration }}</td><td class="n">{{ value.p90|duration }}{% else %}-</td><td class="n">-{% endif %}{% endmacro %}
<h2>Time to acknowledge and to notify</h2>
<p class="muted">To acknowledge: from the ticket's creation until Outage Desk took it in and told its customer the outage is known.
To notify: from the resolution until the closing email went out (or the ticket went on the call-back list).</p>
<table id="times"><tr><th>tickets</th><th></th><th>count</th><th>acknowledge, median</th><th>p90</th><th>notify, median</th><th>p90</th></tr>
<tr><th>all</th><td></td><td class="n">{{ s.tickets }}</td><td class="n">{{ spread(s.time_to_acknowledge_seconds) }}</td><td class="n">{{ spread(s.time_to_notify_seconds) }}</td></tr>
{% for name, t in s.times_by_channel.items() %}<tr><th>channel</th><td>{{ name }}</td><td class="n">{{ t.tickets }}</td><td class="n">{{ spread(t.time_to_acknowledge_seconds) }}</td><td class="n">{{ spread(t.time_to_notify_seconds) }}</td></tr>
{% endfor %}{% for name, t in s.times_by_group.items() %}<tr><th>group</th><td>{{ name }}</td><td class="n">{{ t.tickets }}</td><td class="n">{{ spread(t.time_to_acknowledge_seconds) }}</td><td class="n">{{ spread(t.time_to_notify_seconds) }}</td></tr>
{% endfor %}</table>
{% if "no group" in s.by_group %}<p class="muted">"no group": tickets not assigned to any Zendesk group.</p>{% endif %}
<h2>Who was notified</h2>
{% if s.notified_by_group %}<table id="notified"><tr><th>group</th><th>closing emails sent, by audience</th></tr>
{% for name, audiences in s.notified_by_group.items() %}<tr><td>{{ name }}</td><td>{% for a, n in audiences.items() %}{{ a }} {{ n }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}</table>{% else %}<p>Nobody yet{% if i.state != "resolved" %}: customers are notified when the outage is resolved{% endif %}.</p>{% endif %}
<p>Not notified: {{ s.not_notified }}; notifications given up: {{ s.notifications_given_up }} (reasons in the ticket list below).</p>
<h2>Call-back list</h2>
{% if s.callback_tickets %}<p>Customers who reached us by phone: call them back rather than email.</p>
<ul id="callbacks">{% for t in s.callback_tickets %}<li>#{{ t }}</li>{% endfor %}</ul>{% else %}<p>Nobody to call back.</p>{% endif %}
<h2>Reopened tickets</h2>
<p>Reopened after an agent solved them, during the outage: {% for t in s.reopened_tickets %}#{{ t }}{% if not loop.last %}, {% endif %}{% else %}none{% endfor %}.
Reopened by the customer after the fix: {{ s.reopened_after_fix }}. Merged into the same customer's first ticket: {{ s.merged }}.</p>
{% if s.sla_known %}<h2>SLA breaches avoided</h2>
<p id="sla"><strong>{{ s.sla_breaches_avoided }}</strong> first-reply SLA breaches avoided: the deadline fell while the outage held the ticket
and it had not been acknowledged by then (an upper bound: replies typed by hand are not seen).</p>{% endif %}
<h2>How tickets came in</h2>
<table id="sources"><tr><th>source</th><th>meaning</th><th>tickets</th></tr>
{% for k, v in s.by_source.items() %}<tr><td>{{ k }}</td><td>{{ sources.get(k, "") }}</td><td class="n">{{ v }}</td></tr>
{% endfor %}</table>
<p>Take-ins given up: {{ s.take_ins_given_up }}.</p>
<h2>State changes</h2>
<table><tr><th>at</th><th>from</th><th>to</th><th>by</th></tr>
{% for c in report.state_changes %}<tr><td>{{ c.at }}</td><td>{{ c.from or "" }}</td><td>{{ c.to }}</td><td>{{ c.by }}</td></tr>
{% endfor %}</table>
<h2>In aftercare</h2>
{% if report.aftercare %}<p>Their new tickets are raised one priority level until the date shown.</p>
<table><tr><th>who</th><th>Zendesk id</th><th>until</th><th>new tickets since</th></tr>
{% for m in report.aftercare %}<tr><td>{{ m.kind }}</td><td>{{ m.zendesk_id }}</td><td>{{ m.until }}</td><td>{{ m.new_tickets }}</td></tr>
{% endfor %}</table>{% else %}<p>Nobody{% if i.state != "resolved" %} yet: customers are marked once the outage is resolved{% endif %}.</p>{% endif %}
<h2>Every ticket</h2>
<table id="tickets"><tr><th>ticket</th><th>channel</th><th>group</th><th>source</th><th>take-in</th><th>audience</th><th>language</th><th>notification</th><th>at</th><th>why not</th></tr>
{% for t in report.tickets %}<tr><td>#{{ t.ticket_id }}</td><td>{{ t.channel or "" }}</td><td>{{ t.group_id or "no group" }}</td><td>{{ t.source }}</td>
<td>{{ t.take_in }}</td><td>{{ t.audience or "" }}</td><td>{{ t.language or "" }}</td><td>{{ t.notification or "not yet" }}</td><td>{{ t.notified_at or "" }}</td><td>{{ t.reason or "" }}</td></tr>
{% endfor %}</table>
</body></html>
""")
