"""Blueprint "api": the sidebar's calls, each with the session Zendesk's signed token opened; stores intent,
the worker acts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from app.errors import InputError, PermissionDenied, StateError
from app.intake.events import json_object, parse_id
from app.intake.session import LIFETIME_SECONDS
from app.incident.agent_settings import ChecklistItem
from app.incident.detection import Cluster
from app.incident.listing import listed_incidents
from app.incident.maintenance import window_state
from app.incident.model import IncidentSpec, State
from app.incident.update_message import message_from_macro, message_from_texts
from app.store.tables import IncidentRow
from app.web.callers import is_referent, verify_session

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(verify_session)


@bp.after_request
def never_cached(response):
    """Answers name the agent and carry sessions: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _desk():
    return current_app.extensions["outage_desk.desk"]


def _body() -> dict[str, Any]:
    return json_object(request.get_data(cache=False))


def _incident_json(incident: IncidentRow | None) -> dict | None:
    if incident is None:
        return None
    progress = _desk().progress(incident.id)
    return {"id": incident.id, "title": incident.title, "state": incident.state, "tag": incident.tag,
            "started_at": incident.started_at.isoformat(), "tickets": _desk().affected_count(incident.id),
            "problem_ticket_id": incident.problem_ticket_id,
            "notifications": {"sent": progress.notified, "callbacks": progress.callbacks,
                              "pending": progress.pending, "given_up": len(progress.replies_given_up)},
            "changes": _changes_json(incident.id), **_updates_json(incident)}


def _changes_json(incident_id: int) -> list[dict]:
    """Each state change, oldest first, with who or what made it: a user id, "detection", "cli", "worker"."""
    return [{"from": c.from_state, "to": c.to_state, "by": c.changed_by, "at": c.changed_at.isoformat()}
            for c in _desk().state_changes(incident_id)]


def _updates_json(incident: IncidentRow) -> dict:
    """The last interim update and where it stands, and when the next may go (None: now)."""
    interim = _desk().interim
    last = interim.latest(incident.id)
    next_at = interim.next_allowed_at(incident.id)
    return {"last_update": None if last is None else {
        "id": last.update_id, "created_at": last.created_at.isoformat(), "finished": last.finished,
        "sent": sum(last.sent.values()), "pending": last.pending, "skipped": len(last.skipped),
        "given_up": len(last.given_up)},
        "next_update_at": next_at.isoformat() if next_at else None}


def _declared(incident_id: int) -> IncidentRow:
    incident = _desk().incident(parse_id(incident_id, "incident id"))
    if incident.state != State.DECLARED:
        raise StateError(f"incident #{incident_id} is {incident.state}")
    return incident


@bp.post("/session")
def renew_session():
    """A fresh session for the open sidebar, while Zendesk's sign-in is recent enough."""
    token = current_app.extensions["outage_desk.sidebar_session"].renew(g.sidebar_user)
    return jsonify(token=token, expires_in=LIFETIME_SECONDS)


@bp.get("/state")
def state():
    ticket_id = parse_id(request.args.get("ticket_id"), "ticket_id")
    desk = _desk()
    incident = desk.latest_incident()
    attached = incident is not None and desk.is_affected(incident.id, ticket_id)
    suspected = desk.suspected_for(ticket_id)
    return jsonify(incident=_incident_json(incident), ticket={"id": ticket_id, "attached": attached},
                   suspected=_suspected_json(*suspected) if suspected else None,
                   status_resolve=_status_resolve_json(incident) if incident is not None else None,
                   agent_settings=_agent_settings_json(incident) if incident is not None and g.role == "admin" else None,
                   maintenance=_maintenance_json(desk), aftercare=_aftercare_json(desk, ticket_id),
                   user={"id": g.user_id, "role": g.role},
                   # An update's text in this language is required: requesters without their own get it.
                   default_language=desk.config.outage_desk_default_language)


def _maintenance_json(desk) -> list[dict]:
    """Upcoming and running maintenance windows, soonest first: agents know what customers will write about."""
    now = desk.clock.now()
    return [{"id": w.id, "title": w.title, "starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat(),
             "state": window_state(w, now), "incident_id": w.incident_id}
            for w in desk.maintenance.windows(upcoming_only=True)]


def _aftercare_json(desk, ticket_id: int) -> dict | None:
    """This ticket's requester or organisation was hurt by an outage recently: the banner and its checklist."""
    found = desk.aftercare.for_ticket(ticket_id)
    if found is None:
        return None
    row, incident = found
    return {"incident_id": incident.id, "incident_title": incident.title, "kind": row.kind,
            "until": row.until.isoformat(), "state": row.state, "from_priority": row.from_priority,
            "to_priority": row.to_priority}


def _status_resolve_json(incident: IncidentRow) -> dict | None:
    """The status page's resolve of the incident, while it waits for an admin or the referent."""
    event = _desk().status_page.awaiting_confirmation(incident.id)
    if event is None:
        return None
    return {"incident_id": incident.id, "name": event.name, "asked_at": event.confirm_asked_at.isoformat(),
            "can_confirm": _may_confirm()}


def _agent_settings_json(incident: IncidentRow) -> dict:
    """For admins only: what went through Zendesk's API, and the checklist of what they change by hand."""
    settings = _desk().agent_settings
    return {"changes": settings.changes(incident.id), "checklist": [_item_json(i) for i in settings.checklist(incident.id)]}


def _item_json(item: ChecklistItem) -> dict:
    return {"item": item.item, "phase": item.phase, "setting": item.setting, "value": item.value, "text": item.text,
            "ticked_by": item.ticked_by, "ticked_at": item.ticked_at.isoformat() if item.ticked_at else None}


@bp.post("/incidents/<int:incident_id>/checklist/<item>")
def tick(incident_id: int, item: str):
    """An admin ticks an agent setting changed by hand; the first tick's who and when stand."""
    if g.role != "admin":
        raise PermissionDenied("only admins can tick the outage checklist")
    try:
        incident = _desk().incident(parse_id(incident_id, "incident id"))
    except StateError as missing:
        raise InputError(str(missing), http_status=404) from None
    return jsonify(item=_item_json(_desk().agent_settings.tick(incident.id, item, g.user_id))), 200


def _suspected_json(incident: IncidentRow, cluster: Cluster) -> dict:
    return {"id": incident.id, "title": incident.title, "state": incident.state, "subject": incident.subject_key,
            "query": incident.query, "tickets": cluster.count, "ticket_ids": [row.ticket_id for row in cluster.sightings],
            "first_at": cluster.sightings[0].seen_at.isoformat() if cluster.sightings else None,
            "span_minutes": int(cluster.span.total_seconds() // 60), "changes": _changes_json(incident.id),
            # Asked only with a suspicion to show: the referent by email is a Zendesk call.
            "can_confirm": _may_confirm()}


def _may_confirm() -> bool:
    """Admins and the product referent, as Zendesk vouched for the caller: never a claim of the browser."""
    return g.role == "admin" or is_referent(_desk(), g.user_id)


def _suspected_answer(incident: IncidentRow) -> dict:
    return {"incident": {**_incident_json(incident), "query": incident.query}, "changes": _changes_json(incident.id)}


@bp.get("/incidents")
def incidents():
    """The nav bar's list: every incident but dismissed and expired suspicions, with its live counts."""
    desk = _desk()
    listed = []
    for incident in listed_incidents(desk.sessions):
        if incident.state == State.SUSPECTED:
            suspected = _suspected_json(incident, desk.cluster(incident))
            listed.append({**suspected, "started_at": incident.started_at.isoformat()})
        else:
            listed.append(_incident_json(incident))
    return jsonify(incidents=listed, user={"id": g.user_id, "role": g.role},
                   default_language=desk.config.outage_desk_default_language)


@bp.get("/incidents/<int:incident_id>/report")
def incident_report(incident_id: int):
    """The report `outage-desk report` writes: ?format=json (the default) or html."""
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "html"):
        raise InputError("format must be json or html")
    try:
        incident = _desk().incident(parse_id(incident_id, "incident id"))
    except StateError as missing:
        raise InputError(str(missing), http_status=404) from None
    found = _desk().report(incident)
    if fmt == "html":
        return current_app.response_class(found.as_html(), mimetype="text/html")
    return jsonify(found.as_json())


@bp.post("/incidents")
def declare():
    body = _body()
    # The nav bar declares from no ticket: only admins may, as with the CLI; a sidebar names its ticket.
    if body.get("ticket_id") is None and g.role != "admin":
        raise PermissionDenied("only admins can declare an outage without a ticket")
    ticket_id = None if body.get("ticket_id") is None else parse_id(body.get("ticket_id"), "ticket_id")
    severity = body.get("severity", 2)
    if isinstance(severity, bool) or not isinstance(severity, int):
        raise InputError("severity must be an urgency level from 1 to 4")
    # Backfill the last hour, as the CLI does by default: the agent sees the flood, not its start.
    spec = IncidentSpec(title=str(body.get("title") or "")[:200], query=str(body.get("query") or ""),
                        severity=severity, started_at=_desk().clock.now() - timedelta(hours=1))
    incident = _desk().open_incident(spec, origin_ticket_id=ticket_id, by=g.user_id)
    return jsonify(incident=_incident_json(incident)), 202


@bp.post("/incidents/<int:incident_id>/confirm")
def confirm(incident_id: int):
    if not _may_confirm():
        raise PermissionDenied("only admins and the product referent can confirm a suspected outage")
    # Without a body the suspicion is declared as detection prefilled it.
    body = _body() if request.content_length else {}
    desk = _desk()
    suspected = _suspected(incident_id)
    severity = body.get("severity", suspected.severity)
    if isinstance(severity, bool) or not isinstance(severity, int):
        raise InputError("severity must be an urgency level from 1 to 4")
    title, query = body.get("title", suspected.title), body.get("query", suspected.query)
    if not isinstance(title, str) or not isinstance(query, str):
        raise InputError("the title and the query must be text")
    spec = IncidentSpec(title=title, query=query, severity=severity, tag=suspected.tag, cr_value=suspected.cr_value,
                        started_at=suspected.started_at)
    incident = desk.confirm(suspected.id, spec, by=g.user_id)
    return jsonify(_suspected_answer(incident)), 202


@bp.post("/incidents/<int:incident_id>/dismiss")
def dismiss(incident_id: int):
    if not _may_confirm():
        raise PermissionDenied("only admins and the product referent can dismiss a suspected outage")
    incident = _desk().dismiss(_suspected(incident_id).id, by=g.user_id)
    return jsonify(_suspected_answer(incident)), 200


def _suspected(incident_id: int) -> IncidentRow:
    """:raises InputError: 404, no such incident; StateError: it is no longer suspected."""
    try:
        incident = _desk().incident(parse_id(incident_id, "incident id"))
    except StateError as missing:
        raise InputError(str(missing), http_status=404) from None
    if incident.state != State.SUSPECTED:
        raise StateError(f"incident #{incident.id} is {incident.state}, not suspected")
    return incident


@bp.post("/incidents/<int:incident_id>/tickets")
def attach(incident_id: int):
    ticket_id = parse_id(_body().get("ticket_id"), "ticket_id")
    _desk().queue_task("attach", _declared(incident_id).id, ticket_id=ticket_id, user_id=g.user_id)
    return jsonify(ticket={"id": ticket_id, "attached": True}), 202


@bp.delete("/incidents/<int:incident_id>/tickets/<int:ticket_id>")
def detach(incident_id: int, ticket_id: int):
    ticket_id = parse_id(ticket_id, "ticket_id")
    _desk().queue_task("detach", _declared(incident_id).id, ticket_id=ticket_id, user_id=g.user_id)
    return jsonify(ticket={"id": ticket_id, "attached": False}), 200


@bp.post("/incidents/<int:incident_id>/notify-mine")
def notify_mine(incident_id: int):
    desk = _desk()
    incident = desk.incident(parse_id(incident_id, "incident id"))
    if incident.state not in (State.RESOLVING, State.RESOLVED):
        raise StateError("the outage is not resolved yet: nothing to notify")
    desk.queue_task("notify-mine", incident.id, user_id=g.user_id)
    return jsonify(queued=desk.pending_notifications(incident.id, author_id=g.user_id)), 202


@bp.post("/incidents/<int:incident_id>/resolve")
def resolve(incident_id: int):
    if g.role != "admin":
        raise PermissionDenied("only admins can resolve an outage")
    incident = _desk().mark_resolving(_declared(incident_id).id, by_user=g.user_id)
    return jsonify(incident=_incident_json(incident)), 202


@bp.post("/incidents/<int:incident_id>/confirm-resolve")
def confirm_resolve(incident_id: int):
    """The status page said resolved and the admin chose to confirm it: start the resolve."""
    if not _may_confirm():
        raise PermissionDenied("only admins and the product referent can confirm the status page's resolve")
    incident = _desk().status_page.confirm_resolve(_declared(incident_id).id, by=g.user_id)
    return jsonify(incident=_incident_json(incident)), 202


@bp.post("/incidents/<int:incident_id>/updates")
def post_update(incident_id: int):
    """Store an interim update; the worker sends it (no Zendesk call on the request path).

    The body is {"texts": {"en": "…", "fr": "…"}} or {"macro": "<title>"}, and "force": true to send within
    the interval after the last update.
    """
    if g.role != "admin":
        raise PermissionDenied("only admins can post an update")
    body, desk = _body(), _desk()
    if ("texts" in body) == ("macro" in body):
        raise InputError('the update needs "texts" by language or a "macro" title')
    message = (message_from_texts(body["texts"], desk.config.outage_desk_default_language) if "texts" in body
               else message_from_macro(body["macro"] if isinstance(body["macro"], str) else ""))
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise InputError("force must be true or false")
    row = desk.interim.post(_declared(incident_id), message, by_user=g.user_id, force=force)
    return jsonify(update={"id": row.id, "incident_id": row.incident_id, "created_at": row.created_at.isoformat()}), 202
