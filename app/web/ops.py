"""Blueprint: /healthz, /readyz and /metrics for whoever runs the service."""

from __future__ import annotations

import logging
import socket

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app.incident.model import ACTIVE_STATES, State
from app.store.heartbeats import beat
from app.store.tables import AffectedTicketRow, InboxRow, IncidentRow, NotificationRow

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness, for a process supervisor: the process answers. The store is /readyz's business."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness, for a load balancer: 503 while the store refuses writes, since every webhook needs one.

    A read-only or full SQLite file still answers SELECT 1: only a committed write tells.
    """
    try:
        beat(current_app.extensions["outage_desk.sessions"], socket.gethostname(),
             current_app.extensions["outage_desk.clock"].now())
    except SQLAlchemyError as error:
        cause = error.orig if isinstance(error, DBAPIError) else error
        reason = f"the store cannot take a write ({type(cause).__name__})"
        # The driver's words go to the log only: they may name hosts and paths. Its first line only:
        # SQLAlchemy's own text adds the statement and its parameters.
        log.warning("web.not-ready", extra={"reason": reason, "detail": (str(cause).splitlines() or [""])[0]})
        return jsonify(status="unavailable", reason=reason), 503
    return jsonify(status="ok")


@bp.get("/metrics")
def metrics():
    """Prometheus text format: the inbox backlog and incidents by state."""
    with current_app.extensions["outage_desk.sessions"]() as session:
        backlog = session.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.processed_at.is_(None)))
        states = dict(session.execute(select(IncidentRow.state, func.count()).group_by(IncidentRow.state)).all())
        active = select(IncidentRow.id).where(IncidentRow.state.in_(ACTIVE_STATES))
        take_ins = session.execute(select(AffectedTicketRow.state, func.count()).where(
            AffectedTicketRow.incident_id.in_(active)).group_by(AffectedTicketRow.state)).all()
        replies = session.execute(select(NotificationRow.state, func.count()).where(
            NotificationRow.incident_id.in_(active)).group_by(NotificationRow.state)).all()
    lines = ["# TYPE outage_desk_inbox_backlog gauge", f"outage_desk_inbox_backlog {backlog}",
             "# TYPE outage_desk_incidents gauge"]
    # Every state is listed, zero included, so a dashboard sees "resolving" fall back to 0.
    lines += [f'outage_desk_incidents{{state="{state}"}} {states.get(state, 0)}'
              for state in State]
    lines += ["# TYPE outage_desk_take_ins gauge"]
    lines += [f'outage_desk_take_ins{{state="{state}"}} {count}' for state, count in take_ins]
    lines += ["# TYPE outage_desk_closing_replies gauge"]
    lines += [f'outage_desk_closing_replies{{state="{state}"}} {count}' for state, count in replies]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; version=0.0.4"}
