"""Blueprint: /healthz and /metrics for whoever runs the service."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from app.store.tables import InboxRow, IncidentRow

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
        states = session.execute(select(IncidentRow.state, func.count()).group_by(IncidentRow.state)).all()
    lines = ["# TYPE outage_desk_inbox_backlog gauge", f"outage_desk_inbox_backlog {backlog}",
             "# TYPE outage_desk_incidents gauge"]
    lines += [f'outage_desk_incidents{{state="{state}"}} {count}' for state, count in states]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; version=0.0.4"}
