"""The incident report: ticket volume over time, channels and groups, time to acknowledge and to
notify, and who was notified — as JSON, CSV or an HTML page with its chart."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from jinja2 import Environment

from app.incident.aftercare import ORGANIZATION, REQUESTER, AftercareMark
from app.incident.sla_plans import Plans, breach_avoided
from app.incident.take_in import ACKNOWLEDGED_TAG
from app.store.tables import AffectedTicketRow, IncidentRow, NotificationRow, StateChangeRow
from app.zendesk.model import Ticket

BUCKET = timedelta(minutes=15)
NOTIFIED = ("sent", "callback")
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

    def volume(self) -> list[tuple[datetime, int]]:
        """New affected tickets per quarter hour, from the outage's start; empty quarters included."""
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

    def summary(self) -> dict:
        acknowledge = [(line.taken_in_at - line.created_at).total_seconds() for line in self.lines
                       if line.created_at and line.taken_in_at >= line.created_at]
        ended = self.incident.ended_at
        notify = [(line.notified_at - ended).total_seconds() for line in self.lines if line.notified_at and ended]
        return {
            "tickets": len(self.lines),
            "by_channel": dict(Counter(line.channel or "unknown" for line in self.lines).most_common()),
            "by_group": dict(Counter(str(line.group_id or "no group") for line in self.lines).most_common()),
            "by_source": dict(Counter(line.source for line in self.lines).most_common()),
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
        }

    def as_json(self) -> dict:
        incident = self.incident
        return {
            "incident": {"id": incident.id, "title": incident.title, "state": incident.state, "tag": incident.tag,
                         "severity": incident.severity, "started_at": _iso(incident.started_at),
                         "declared_at": _iso(incident.declared_at), "ended_at": _iso(incident.ended_at),
                         "problem_ticket_id": incident.problem_ticket_id},
            "summary": self.summary(),
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
        volume = self.volume()
        peak = max((count for _, count in volume), default=0) or 1
        return _TEMPLATE.render(report=self.as_json(), bars=[
            # Hours only along the axis: a label per quarter would overlap its neighbours.
            {"title": moment.strftime("%H:%M"), "label": moment.strftime("%H:%M") if moment.minute == 0 else "",
             "count": count, "height": round(160 * count / peak)} for moment, count in volume])


def _spread(seconds: list[float]) -> dict | None:
    if not seconds:
        return None
    ordered = sorted(seconds)
    return {"median": round(statistics.median(ordered), 1),
            "p90": round(ordered[min(int(0.9 * len(ordered)), len(ordered) - 1)], 1), "max": round(ordered[-1], 1)}


def _floor(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


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
body{font-family:system-ui,sans-serif;margin:2rem;color:#2f3941}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #d8dcde;padding:.3rem .6rem;text-align:left}th{background:#f8f9f9}
.chart rect{fill:#1f73b7}.chart text{font-size:10px;fill:#68737d}
</style></head><body>
<h1>{{ report.incident.title }}</h1>
<p>Incident #{{ report.incident.id }} ({{ report.incident.state }}), tag <code>{{ report.incident.tag }}</code>,
problem ticket #{{ report.incident.problem_ticket_id }}; started {{ report.incident.started_at }},
declared {{ report.incident.declared_at }}, ended {{ report.incident.ended_at or "not yet" }}.</p>
<h2>State changes</h2>
<table><tr><th>at</th><th>from</th><th>to</th><th>by</th></tr>
{% for c in report.state_changes %}<tr><td>{{ c.at }}</td><td>{{ c.from or "" }}</td><td>{{ c.to }}</td><td>{{ c.by }}</td></tr>
{% endfor %}</table>
<h2>Ticket volume, per quarter hour</h2>
<svg class="chart" role="img" aria-label="New affected tickets per quarter hour"
     width="{{ bars|length * 28 + 10 }}" height="190">
{% for bar in bars %}<g><title>{{ bar.title }}: {{ bar.count }}</title>
<rect x="{{ loop.index0 * 28 + 5 }}" y="{{ 170 - bar.height }}" width="22" height="{{ bar.height }}"></rect>
<text x="{{ loop.index0 * 28 + 5 }}" y="184">{{ bar.label }}</text></g>
{% endfor %}</svg>
{% set s = report.summary %}
<h2>Summary</h2>
<table>
<tr><th>affected tickets</th><td>{{ s.tickets }} ({{ s.reopened }} reopened after an agent solved them)</td></tr>
<tr><th>merged into the same customer's first ticket / reopened by the customer after the fix</th><td>{{ s.merged }} / {{ s.reopened_after_fix }}</td></tr>
<tr><th>by channel</th><td>{% for k, v in s.by_channel.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
<tr><th>by group</th><td>{% for k, v in s.by_group.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
<tr><th>taken in by</th><td>{% for k, v in s.by_source.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
<tr><th>time to acknowledge, from the ticket's creation</th><td>{% if s.time_to_acknowledge_seconds %}median {{ s.time_to_acknowledge_seconds.median|duration }}, p90 {{ s.time_to_acknowledge_seconds.p90|duration }}{% else %}-{% endif %}</td></tr>
<tr><th>time to notify, from the end</th><td>{% if s.time_to_notify_seconds %}median {{ s.time_to_notify_seconds.median|duration }}, max {{ s.time_to_notify_seconds.max|duration }}{% else %}-{% endif %}</td></tr>
<tr><th>closing email sent</th><td>{% for k, v in s.notified.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
<tr><th>call-back list / not notified</th><td>{{ s.callbacks }} / {{ s.not_notified }}</td></tr>
<tr><th>given up: take-ins / notifications (reasons below)</th><td>{{ s.take_ins_given_up }} / {{ s.notifications_given_up }}</td></tr>
<tr><th>first-reply SLA breaches the outage avoided (deadline fell while it held the ticket, not acknowledged by then; replies typed by hand not seen)</th><td>{{ s.sla_breaches_avoided }}</td></tr>
</table>
<h2>In aftercare</h2>
{% if report.aftercare %}<p>Their new tickets are raised one priority level until the date shown.</p>
<table><tr><th>who</th><th>Zendesk id</th><th>until</th><th>new tickets since</th></tr>
{% for m in report.aftercare %}<tr><td>{{ m.kind }}</td><td>{{ m.zendesk_id }}</td><td>{{ m.until }}</td><td>{{ m.new_tickets }}</td></tr>
{% endfor %}</table>{% else %}<p>Nobody{% if report.incident.state != "resolved" %} yet: customers are marked once the outage is resolved{% endif %}.</p>{% endif %}
<h2>Who was notified</h2>
<table><tr><th>ticket</th><th>channel</th><th>group</th><th>take-in</th><th>audience</th><th>language</th><th>notification</th><th>at</th><th>why not</th></tr>
{% for t in report.tickets %}<tr><td>#{{ t.ticket_id }}</td><td>{{ t.channel or "" }}</td><td>{{ t.group_id or "" }}</td>
<td>{{ t.take_in }}</td><td>{{ t.audience or "" }}</td><td>{{ t.language or "" }}</td><td>{{ t.notification or "not yet" }}</td><td>{{ t.notified_at or "" }}</td><td>{{ t.reason or "" }}</td></tr>
{% endfor %}</table>
</body></html>
""")
