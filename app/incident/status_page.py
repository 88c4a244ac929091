"""The status page declares and resolves: the worker's side of its stored webhooks.

"investigating" or "identified" of a mapped component declares its incident, or promotes a suspected one
that matches its query; "monitoring" is told; "resolved" starts the resolve, or, with
OUTAGE_DESK_STATUS_RESOLVE=confirm, waits for an admin or the product referent to confirm it in the
sidebar. Each event is acted on once, oldest first, and Slack hears each step once Slack has it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from app.alerts.slack import escape
from app.errors import InputError, StateError
from app.incident.detection import subject_key
from app.incident.history import STATUS_PAGE
from app.incident.model import IncidentSpec, Kind, State
from app.incident.status_components import ComponentMap, ComponentRule
from app.store.tables import IncidentRow, StateChangeRow, StatusEventRow

if TYPE_CHECKING:
    from app.incident.service import OutageDesk

log = logging.getLogger(__name__)

# Customers write before the status page says so: the backfill looks back this far, as the CLI's declare does.
LOOK_BACK = timedelta(hours=1)
# A step Slack could not take is told again on later passes, for this long.
ANNOUNCE_FOR = timedelta(hours=1)
# Statuspage's impact, as an urgency level; "none" (or no impact) leaves the component's severity.
LEVEL_BY_IMPACT = {"critical": 1, "major": 2, "minor": 3}


class NotYet(Exception):
    """The event must wait for the worker's next pass (a resolve of an incident still being backfilled)."""


@dataclass
class Step:
    """What one event did for one incident tag."""

    said: str  # for the event's outcome and Slack
    incident_id: int | None = None
    tell: bool = True  # whether Slack hears it (a repeat of what the status page already said does not)
    awaiting: bool = False  # a resolve waiting for a person


class StatusPage:
    """Acts on stored status page events through the desk's own declare, confirm and resolve."""

    def __init__(self, desk: OutageDesk):
        self.desk = desk
        self.components = ComponentMap.from_json(desk.config.outage_desk_status_components)
        self.resolve_needs_confirmation = desk.config.outage_desk_status_resolve == "confirm"

    # -- the worker ------------------------------------------------------------------

    def run_pending(self) -> int:
        """Act on every stored event not acted on yet, oldest first; returns how many."""
        with self.desk.sessions() as session:
            pending = list(session.scalars(select(StatusEventRow).where(StatusEventRow.processed_at.is_(None))
                                           .order_by(StatusEventRow.id)))
        done = 0
        for event in pending:
            rules = self.components.rules_for(json.loads(event.components))
            try:
                steps = [self._act_or_say_why(event, rule) for rule in rules] or [
                    Step("ignored: none of its components is mapped any more", tell=False)]
            except NotYet:
                break  # in order: a later event must not overtake this one
            self._record(event, steps)
            done += 1
        self.announce()
        return done

    def announce(self) -> None:
        """Tell Slack the steps it has not heard yet."""
        now = self.desk.clock.now()
        with self.desk.sessions() as session:
            untold = list(session.scalars(select(StatusEventRow).where(
                StatusEventRow.processed_at.is_not(None), StatusEventRow.announced_at.is_(None),
                StatusEventRow.received_at >= now - ANNOUNCE_FOR).order_by(StatusEventRow.id)))
        for event in untold:
            components = ", ".join(json.loads(event.components))
            text = (f":satellite_antenna: Status page: *{escape(event.name)}* is {event.status} "
                    f"({escape(components)}): {escape(event.outcome or '')}.")
            # Recorded once Slack has it; without Slack configured there is no one to tell. A Slack that
            # failed one is not asked for the rest this pass: the worker's other jobs do not wait on it.
            if self.desk.alerts.enabled and not self.desk.alerts.send(text):
                break
            with self.desk.sessions() as session:
                session.execute(update(StatusEventRow).where(StatusEventRow.id == event.id)
                                .values(announced_at=self.desk.clock.now()))
                session.commit()

    def _record(self, event: StatusEventRow, steps: list[Step]) -> None:
        now = self.desk.clock.now()
        awaiting = next((step for step in steps if step.awaiting), None)
        linked = awaiting or next((step for step in steps if step.incident_id), None)
        with self.desk.sessions() as session:
            session.execute(update(StatusEventRow).where(StatusEventRow.id == event.id).values(
                processed_at=now, outcome="; ".join(step.said for step in steps),
                incident_id=linked.incident_id if linked else None,
                confirm_asked_at=now if awaiting else None,
                # Nothing new to tell: Slack already heard it with the event that did it.
                announced_at=None if any(step.tell for step in steps) else now))
            session.commit()
        log.info("status-page.event", extra={"event": event.id, "status": event.status,
                                             "incident": linked.incident_id if linked else None})

    def _act_or_say_why(self, event: StatusEventRow, rule: ComponentRule) -> Step:
        try:
            return self._act(event, rule)
        except (InputError, StateError) as error:
            # What the store refuses now it refuses on every pass: said once, not retried forever.
            return Step(f"not acted on: {error}")

    def _act(self, event: StatusEventRow, rule: ComponentRule) -> Step:
        if event.status in ("investigating", "identified"):
            return self._declare(event, rule)
        active = self._active(rule.tag)
        if event.status == "monitoring":
            if active is None:
                return Step(f"no declared incident with tag {rule.tag}")
            return Step(f"incident #{active.id} ({self.desk.affected_count(active.id)} tickets) stays declared "
                        "until the status page says resolved", active.id)
        return self._resolve(event, rule, active)

    # -- declare -------------------------------------------------------------------

    def _declare(self, event: StatusEventRow, rule: ComponentRule) -> Step:
        active = self._active(rule.tag)
        if active is None:
            suspected = self._matching_suspicion(rule)
            try:
                if suspected is not None:
                    return self._promote(event, rule, suspected)
                return self._open(event, rule)
            except StateError:
                active = self._active(rule.tag)  # declared meanwhile, by a person
                if active is None:
                    raise
        if active.state == State.DECLARED and self._withdraw_confirmation(active.id):
            # Reopened before anyone confirmed its resolve: a confirmation now would end an outage still on.
            return Step(f"incident #{active.id} no longer waits for its resolve to be confirmed: "
                        "it stays declared", active.id)
        if self._linked_before(event, active.id):
            return Step(f"incident #{active.id} is already {active.state}", active.id, tell=False)
        if self._changed_by_status_page(event, active.id, State.DECLARED):
            # This event declared it, then the process died before recording so.
            return Step(f"declared incident #{active.id} (tag {active.tag}): its tickets are being taken in",
                        active.id)
        return Step(f"incident #{active.id} with tag {active.tag} was already {active.state} "
                    f"({self.desk.affected_count(active.id)} tickets)", active.id)

    def _open(self, event: StatusEventRow, rule: ComponentRule) -> Step:
        opened = min(event.opened_at or self.desk.clock.now(), self.desk.clock.now())
        try:
            spec = IncidentSpec(title=event.name[:200], query=rule.query, started_at=opened - LOOK_BACK,
                                severity=LEVEL_BY_IMPACT.get(event.impact or "", rule.severity), kind=Kind.STATUS_PAGE,
                                tag=rule.tag)
            incident = self.desk.open_incident(spec, by=STATUS_PAGE)
        except InputError as error:
            return Step(f"not declared: {error}")
        return Step(f"declared incident #{incident.id} (tag {rule.tag}): its tickets are being taken in", incident.id)

    def _matching_suspicion(self, rule: ComponentRule) -> IncidentRow | None:
        """The suspected incident whose cluster's words share one with the component's query."""
        words = set((subject_key(rule.query) or "").split())
        for incident in self.desk.suspected_incidents():
            if words & set((incident.subject_key or "").split()):
                return incident
        return None

    def _promote(self, event: StatusEventRow, rule: ComponentRule, suspected: IncidentRow) -> Step:
        spec = IncidentSpec(title=event.name[:200], query=rule.query, started_at=suspected.started_at,
                            severity=LEVEL_BY_IMPACT.get(event.impact or "", rule.severity), tag=rule.tag)
        tickets = self.desk.cluster(suspected).count
        incident = self.desk.confirm(suspected.id, spec, by=STATUS_PAGE)
        return Step(f"declared the suspected incident #{incident.id} ({tickets} tickets in its cluster, tag {rule.tag}): "
                    "its tickets are being taken in", incident.id)

    # -- resolve -------------------------------------------------------------------

    def _resolve(self, event: StatusEventRow, rule: ComponentRule, active: IncidentRow | None) -> Step:
        if active is None:
            return Step(f"no declared incident with tag {rule.tag} to resolve")
        if active.state == State.DECLARED and active.backfilled_at is None:
            # Declared moments ago (perhaps by this very pass): its tickets are taken in first, then resolved.
            raise NotYet()
        tickets = self.desk.affected_count(active.id)
        if active.state == State.RESOLVING:
            if (self._changed_by_status_page(event, active.id, State.RESOLVING)
                    and not self._linked_before(event, active.id, "resolved")):
                return Step(f"resolving incident #{active.id}: its {tickets} tickets get the closing email", active.id)
            return Step(f"incident #{active.id} is already resolving", active.id, tell=False)
        if self.resolve_needs_confirmation:
            if self.awaiting_confirmation(active.id) is not None:
                return Step(f"incident #{active.id} already waits for its resolve to be confirmed", active.id, tell=False)
            return Step(f"incident #{active.id} ({tickets} tickets) waits for an admin or the product referent to "
                        "confirm the resolve in the Outage Desk sidebar", active.id, awaiting=True)
        self.desk.mark_resolving(active.id, by_user=STATUS_PAGE)
        return Step(f"resolving incident #{active.id}: its {tickets} tickets get the closing email", active.id)

    def awaiting_confirmation(self, incident_id: int) -> StatusEventRow | None:
        """The status page's resolve of this declared incident that waits for a person, if any."""
        with self.desk.sessions() as session:
            incident = session.get(IncidentRow, incident_id)
            if incident is None or incident.state != State.DECLARED:
                return None
            return session.scalars(select(StatusEventRow).where(
                StatusEventRow.incident_id == incident_id, StatusEventRow.confirm_asked_at.is_not(None),
                StatusEventRow.confirmed_at.is_(None)).order_by(StatusEventRow.id.desc()).limit(1)).first()

    def confirm_resolve(self, incident_id: int, by: int) -> IncidentRow:
        """A person confirms the status page's resolve: the incident is resolving, the worker sends the replies.

        :raises StateError: no resolve of this incident waits for a confirmation.
        """
        if self.awaiting_confirmation(incident_id) is None:
            raise StateError(f"the status page has not asked to resolve incident #{incident_id}")
        incident = self.desk.mark_resolving(incident_id, by_user=by)
        with self.desk.sessions() as session:
            session.execute(update(StatusEventRow).where(
                StatusEventRow.incident_id == incident_id, StatusEventRow.confirm_asked_at.is_not(None),
                StatusEventRow.confirmed_at.is_(None)).values(confirmed_by=str(by), confirmed_at=self.desk.clock.now()))
            session.commit()
        return incident

    def _withdraw_confirmation(self, incident_id: int) -> bool:
        """Forget the resolve of this incident that waits for a person; whether one waited."""
        with self.desk.sessions() as session:
            withdrawn = session.execute(update(StatusEventRow).where(
                StatusEventRow.incident_id == incident_id, StatusEventRow.confirm_asked_at.is_not(None),
                StatusEventRow.confirmed_at.is_(None)).values(confirm_asked_at=None)).rowcount
            session.commit()
        return bool(withdrawn)

    # -- what the store says ---------------------------------------------------------

    def _active(self, tag: str) -> IncidentRow | None:
        return next((incident for incident in self.desk.active_incidents() if incident.tag == tag), None)

    def _linked_before(self, event: StatusEventRow, incident_id: int, status: str | None = None) -> bool:
        """Whether an earlier status page event (of this status) already acted on this incident."""
        query = select(StatusEventRow.id).where(StatusEventRow.incident_id == incident_id, StatusEventRow.id < event.id)
        if status is not None:
            query = query.where(StatusEventRow.status == status)
        with self.desk.sessions() as session:
            return session.scalar(query.limit(1)) is not None

    def _changed_by_status_page(self, event: StatusEventRow, incident_id: int, to_state: str) -> bool:
        with self.desk.sessions() as session:
            return session.scalar(select(StateChangeRow.id).where(
                StateChangeRow.incident_id == incident_id, StateChangeRow.to_state == to_state,
                StateChangeRow.changed_by == STATUS_PAGE, StateChangeRow.changed_at >= event.received_at)
                .limit(1)) is not None
