"""Detection: enough new tickets on one subject in a short window means a suspected outage.

The runbook waits for at least five contacts about the same subject before alerting the
production and product referents. Subjects are compared by their significant words, so
"The API is down!" and "api down" count together, in any of the desk's languages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.incident.history import DETECTION, record_change
from app.incident.model import ACTIVE_STATES, IncidentSpec, Kind, State
from app.store.tables import AlertRow, IncidentRow, SightingRow
from app.store.writes import insert_ignoring_duplicates
from app.zendesk.model import Ticket

log = logging.getLogger(__name__)

MIN_WORD = 3
MAX_KEY = 200
# Words that say nothing about what is broken, in the desk's languages.
STOPWORDS = frozenset("""
the and for not are was can you your our with this that have has from but all any out
les des une est pas pour que qui sur avec dans vous nous mon mes ses aux par plus
los las una por para con que del esta está son sus nos
der die das und ist nicht ein eine mit für auf den dem von
uma para com não está são dos das nas nos
это что как мне мой моя для при нет все
hello bonjour hola hallo olá здравствуйте please help urgent problem issue question
""".split())


def subject_key(subject: str) -> str | None:
    """The subject's significant words, sorted: equal keys mean the same subject."""
    words = {w for w in re.findall(r"\w+", subject.casefold())
             if len(w) >= MIN_WORD and not w.isdigit() and w not in STOPWORDS}
    return " ".join(sorted(words))[:MAX_KEY] or None


class Detector:
    """Counts new tickets per subject; at `threshold` within `window`, opens a suspected incident for the
    cluster and alerts Slack once, linking to its first ticket. Nothing is written to Zendesk: a person
    confirms (declares) or dismisses it in the sidebar."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, alerts: SlackAlerts, threshold: int,
                 window: timedelta, ticket_url: Callable[[int], str]):
        self.sessions = sessions
        self.clock = clock
        self.alerts = alerts
        self.threshold = threshold
        self.window = window
        self.ticket_url = ticket_url

    def observe(self, tickets: list[Ticket]) -> list[str]:
        """Record these new tickets; returns the subjects Slack was alerted about now."""
        rows = []
        for ticket in tickets:
            key = subject_key(ticket.subject)
            if key:
                rows.append({"ticket_id": ticket.id, "subject_key": key, "subject": ticket.subject[:MAX_KEY],
                             "seen_at": self._created(ticket)})
        if not rows:
            return []
        keys = sorted({row["subject_key"] for row in rows})
        since = self.clock.now() - self.window
        with self.sessions() as session:
            insert_ignoring_duplicates(session, SightingRow, rows)
            for key in keys:
                if not self._followed(session, key, since):
                    count = session.scalar(select(func.count()).select_from(SightingRow).where(
                        SightingRow.subject_key == key, SightingRow.seen_at >= since)) or 0
                    if count >= self.threshold:
                        self._suspect(session, key, since)
            session.commit()
        alerted_now = []
        for incident in self._unalerted(keys):
            # Recorded only once Slack has it: an alert Slack refused is tried again with the next ticket.
            if self._alert(incident):
                alerted_now.append(incident.subject_key)
        return alerted_now

    def _followed(self, session: Session, key: str, since: datetime) -> bool:
        """Whether the cluster already has its incident, or a person dismissed it within the window."""
        return session.scalar(select(func.count()).select_from(IncidentRow).where(
            IncidentRow.subject_key == key,
            or_(IncidentRow.state.in_((State.SUSPECTED, *ACTIVE_STATES)),
                and_(IncidentRow.state == State.DISMISSED, IncidentRow.ended_at >= since)))) > 0

    def _suspect(self, session: Session, key: str, since: datetime) -> None:
        first = session.scalars(select(SightingRow).where(SightingRow.subject_key == key, SightingRow.seen_at >= since)
                                .order_by(SightingRow.seen_at, SightingRow.ticket_id).limit(1)).one()
        # Its first subject, as customers wrote it: the title a confirmation declares unless told another.
        incident = IncidentRow(title=first.subject[:200], kind=Kind.UNPLANNED, severity=IncidentSpec.severity,
                               tag=IncidentSpec.tag, cr_value=IncidentSpec.cr_value, query=key, state=State.SUSPECTED,
                               started_at=first.seen_at, subject_key=key)
        session.add(incident)
        session.flush()
        record_change(session, incident.id, None, State.SUSPECTED, DETECTION, self.clock.now())
        log.warning("incident.suspected", extra={"incident": incident.id, "subject": key})

    def _unalerted(self, keys: list[str]) -> list[IncidentRow]:
        with self.sessions() as session:
            alerted = select(AlertRow.id).where(AlertRow.incident_id == IncidentRow.id)
            return list(session.scalars(select(IncidentRow).where(
                IncidentRow.subject_key.in_(keys), IncidentRow.state == State.SUSPECTED, ~alerted.exists())))

    def _alert(self, incident: IncidentRow) -> bool:
        with self.sessions() as session:
            cluster = cluster_of(session, incident)
        examples = cluster.sightings[-3:][::-1]
        listed = ", ".join(f"#{row.ticket_id} \"{escape(row.subject)}\"" for row in examples)
        minutes = int(self.window.total_seconds() // 60)
        sent = self.alerts.send(
            f":rotating_light: Possible outage: {cluster.count} new tickets in {minutes} min about "
            f"\"{escape(incident.subject_key)}\" ({listed}). Check the status page, then confirm or dismiss the "
            f"suspected outage #{incident.id} in the Outage Desk sidebar of its first ticket: "
            f"<{self.ticket_url(cluster.sightings[0].ticket_id)}|#{cluster.sightings[0].ticket_id}>.", mention=True)
        if sent:
            with self.sessions() as session:
                session.add(AlertRow(subject_key=incident.subject_key, tickets=cluster.count,
                                     sent_at=self.clock.now(), incident_id=incident.id))
                session.commit()
        return sent

    def _created(self, ticket: Ticket) -> datetime:
        try:
            return datetime.fromisoformat(ticket.created_at.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            return self.clock.now()


@dataclass
class Cluster:
    """A suspected incident's tickets, oldest first: those that made it, and those that keep arriving."""

    sightings: list[SightingRow]

    @property
    def count(self) -> int:
        return len(self.sightings)

    @property
    def span(self) -> timedelta:
        return self.sightings[-1].seen_at - self.sightings[0].seen_at if self.sightings else timedelta(0)


def cluster_of(session: Session, incident: IncidentRow) -> Cluster:
    return Cluster(list(session.scalars(select(SightingRow).where(
        SightingRow.subject_key == incident.subject_key, SightingRow.seen_at >= incident.started_at)
        .order_by(SightingRow.seen_at, SightingRow.ticket_id))))
