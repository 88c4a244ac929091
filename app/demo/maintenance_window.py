"""Act three: a maintenance window, scheduled ahead, declared at its start and ended at its end by the worker.

The window is seconds long rather than twenty minutes, so the demo need not wait; everything else is as an
admin's `outage-desk schedule` stores it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from app.demo.stage import Stage, wait
from app.incident.maintenance import WindowSpec
from app.incident.model import IncidentSpec, State

STARTS_IN = timedelta(seconds=3)
LASTS = timedelta(seconds=12)
CUSTOMERS = (("fr", "Le dashboard est indisponible ?"), ("es", "¿El dashboard no está disponible?"),
             ("en-US", "Dashboard unavailable?"))


def play_maintenance_window(stage: Stage) -> None:
    desk, figures = stage.desk, stage.figures
    figures.section("Act three: a maintenance window, declared and ended on time by the worker")
    starts_at = stage.clock.now().replace(microsecond=0) + STARTS_IN
    window = desk.maintenance.schedule(WindowSpec(
        title="Dashboard database upgrade", query="dashboard", tag="maintenance", severity=3,
        cr_value=IncidentSpec.cr_value, starts_at=starts_at, duration=LASTS))
    upcoming = [w.title for w in desk.maintenance.windows(upcoming_only=True)]
    figures.add("Scheduled, shown as upcoming", ", ".join(upcoming) or "nothing", window.title in upcoming)

    wait(lambda: desk.maintenance.window(window.id).incident_id is not None, timeout=STARTS_IN.seconds + 15)
    incident_id = desk.maintenance.window(window.id).incident_id
    if incident_id is None:
        figures.add("Declared at its start", "never", False)
        return
    declared_at = desk.state_changes(incident_id)[0].changed_at
    late = (declared_at - starts_at).total_seconds()
    figures.add("Declared by the worker at its start (seconds after)", f"{late:.1f}", 0 <= late < 5)
    # Customers write in while it runs: the webhooks bring them into the maintenance incident.
    tickets = [stage.new_ticket({"subject": subject, "description": subject, "channel": "email",
                                 "requester": {"name": f"Dashboard client {n}", "email": f"dashboard-{n}@example.org",
                                               "locale": language}})
               for n, (language, subject) in enumerate(CUSTOMERS)]
    wait(lambda: desk.progress(incident_id).taken >= len(tickets), timeout=LASTS.seconds)
    taken = desk.progress(incident_id).taken
    figures.add("Customers writing in while it runs: taken in (and acknowledged)", f"{taken} / {len(tickets)}",
                taken == len(tickets))
    mark = stage.outbox()
    wait(lambda: desk.incident(incident_id).state == State.RESOLVED, timeout=LASTS.seconds + 60)
    changes = desk.state_changes(incident_id)
    resolving = next((c.changed_at for c in changes if c.to_state == State.RESOLVING), None)
    late = (resolving - window.ends_at).total_seconds() if resolving else None
    figures.add("Ended by the worker at its end (seconds after)", "never" if late is None else f"{late:.1f}",
                late is not None and 0 <= late < 5)
    emails = stage.emails_since(mark)
    per_ticket = Counter(emails[t] for t in tickets)
    figures.add("Closing emails per ticket (count of tickets)",
                ", ".join(f"{n}: {count}" for n, count in sorted(per_ticket.items())), set(per_ticket) == {1})
    figures.add("State changes recorded, with who", " → ".join(f"{c.to_state} ({c.changed_by})" for c in changes),
                desk.incident(incident_id).state == State.RESOLVED)
