"""Blueprint: /healthz and /metrics for whoever runs the service."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow, NotificationRow

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    with current_app.extensions["outage_desk.sessions"]() as session:
        session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics():
    """Prometheus text format: the inbox backlog and incidents by state."""
    with current_app.extensions["outage_desk.sessions"]() as session:
        backlog = session.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.processed_at.is_(None)))
        states = dict(session.execute(select(IncidentRow.state, func.count()).group_by(IncidentRow.state)).all())
        active = select(IncidentRow.id).where(IncidentRow.state != "resolved")
        take_ins = session.execute(select(AffectedTicketRow.state, func.count()).where(
            AffectedTicketRow.incident_id.in_(active)).group_by(AffectedTicketRow.state)).all()
        replies = session.execute(select(NotificationRow.state, func.count()).where(
            NotificationRow.incident_id.in_(active)).group_by(NotificationRow.state)).all()
    lines = ["# TYPE outage_desk_inbox_backlog gauge", f"outage_desk_inbox_backlog {backlog}",
             "# TYPE outage_desk_incidents gauge"]
    # Every state is listed, zero included, so a dashboard sees "resolving" fall back to 0.
    lines += [f'outage_desk_incidents{{state="{state}"}} {states.get(state, 0)}'
              for state in ("declared", "resolving", "resolved")]
    lines += ["# TYPE outage_desk_take_ins gauge"]
    lines += [f'outage_desk_take_ins{{state="{state}"}} {count}' for state, count in take_ins]
    lines += ["# TYPE outage_desk_closing_replies gauge"]
    lines += [f'outage_desk_closing_replies{{state="{state}"}} {count}' for state, count in replies]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; version=0.0.4"}
