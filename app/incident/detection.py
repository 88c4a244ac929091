"""Detection: enough new tickets on one subject in a short window means a suspected outage.

The runbook waits for at least five contacts about the same subject before alerting the
production and product referents. Subjects are compared by their significant words, so
"The API is down!" and "api down" count together, in any of the desk's languages.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.store.tables import AlertRow, SightingRow
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
    """Counts new tickets per subject; at `threshold` within `window`, alerts Slack once per window."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, alerts: SlackAlerts, threshold: int,
                 window: timedelta):
        self.sessions = sessions
        self.clock = clock
        self.alerts = alerts
        self.threshold = threshold
        self.window = window

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
        since = self.clock.now() - self.window
        surging = []
        with self.sessions() as session:
            insert_ignoring_duplicates(session, SightingRow, rows)
            for key in sorted({row["subject_key"] for row in rows}):
                count = session.scalar(select(func.count()).select_from(SightingRow).where(
                    SightingRow.subject_key == key, SightingRow.seen_at >= since)) or 0
                alerted = session.scalar(select(func.count()).select_from(AlertRow).where(
                    AlertRow.subject_key == key, AlertRow.sent_at >= since))
                if count >= self.threshold and not alerted:
                    surging.append((key, count))
            session.commit()
        alerted_now = []
        for key, count in surging:
            # Recorded only once Slack has it: an alert Slack refused is tried again with the next ticket.
            if self._alert(key, count):
                with self.sessions() as session:
                    session.add(AlertRow(subject_key=key, tickets=count, sent_at=self.clock.now()))
                    session.commit()
                alerted_now.append(key)
        return alerted_now

    def _alert(self, key: str, count: int) -> bool:
        with self.sessions() as session:
            examples = list(session.scalars(select(SightingRow).where(SightingRow.subject_key == key)
                                            .order_by(SightingRow.seen_at.desc()).limit(3)))
        listed = ", ".join(f"#{row.ticket_id} \"{escape(row.subject)}\"" for row in examples)
        minutes = int(self.window.total_seconds() // 60)
        log.warning("incident.suspected", extra={"subject": key, "tickets": count})
        return self.alerts.send(f":rotating_light: Possible outage: {count} new tickets in {minutes} min about "
                                f"\"{escape(key)}\" ({listed}). Check the status page; if it is down, "
                                "declare the outage in Outage Desk.", mention=True)

    def _created(self, ticket: Ticket) -> datetime:
        try:
            return datetime.fromisoformat(ticket.created_at.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            return self.clock.now()
