"""Voice thresholds: while an outage is declared, the phone queue decides two things.

More than OUTAGE_DESK_VOICE_ALERT_CALLS callers waiting: Slack hears "shut down routing", once per crossing.
The crossing is stored before Slack is told, and the alert is re-armed only once the queue is back to the
threshold minus OUTAGE_DESK_VOICE_ALERT_MARGIN or fewer: a queue wavering around the threshold, or a worker
restarting, alerts no second time.

More than OUTAGE_DESK_VOICE_GREETING_CALLS: every phone line plays the outage greeting `setup` created, in the
language of the line's country, until the resolution. It takes the place of the line's greeting of its category
("available", which Zendesk plays first to every caller without an IVR:
https://support.zendesk.com/hc/en-us/articles/4408888506906), so callers hear at once that they need not wait.
Each line's greeting ids go to the ledger (voice_lines) before its first write; a line whose write may have
landed is read before it is written again, so a crash anywhere switches nothing twice, and the resolution puts
back exactly what the ledger holds.

Only a declared incident is watched. Once it is resolving the outage is over for callers: the lines get their
own greetings back at once, not after the last closing email, and the queue is ordinary work again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.config import Config
from app.errors import TalkUnavailable, ZendeskError
from app.incident.model import State
from app.store.tables import IncidentRow, VoiceLineRow, VoiceWatchRow
from app.store.writes import insert_ignoring_duplicates
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.macro import variant_language
from app.zendesk.model import Greeting, PhoneLine

log = logging.getLogger(__name__)

OUTAGE_GREETING = "Outage Desk outage"  # setup names each language's "Outage Desk outage (fr)"
# The language callers of a line speak, from the country of its number; others hear the default language's.
LANGUAGE_BY_COUNTRY = {
    "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr", "CA": "fr", "US": "en", "GB": "en", "IE": "en", "AU": "en",
    "NZ": "en", "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "DE": "de", "AT": "de",
    "BR": "pt-BR", "RU": "ru", "BY": "ru", "KZ": "ru",
}


@dataclass
class VoiceReport:
    """What one poll saw and did."""

    incident_id: int | None = None
    calls_waiting: int | None = None
    alerted: bool = False
    switched: list[int] = field(default_factory=list)  # phone line ids
    restored: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # line id -> why its write failed (tried next poll)
    unavailable: str | None = None  # Talk is not available to the account or the API user


class VoiceWatch:
    """One poll of the phone queue for the declared incident, and the lines to put back for the ended ones."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock,
                 alerts: SlackAlerts):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.alerts = alerts

    def poll(self) -> VoiceReport:
        """Restore the lines of incidents no longer declared, then read the queue for the declared one."""
        report = VoiceReport()
        incident = self._watched()
        try:
            self._restore_ended(report)
            if incident is None:
                return report
            report.incident_id = incident.id
            self._ensure_watch(incident.id)
            report.calls_waiting = self.gateway.queue_activity().calls_waiting
            self._routing(incident, report)
            if self._switching(incident, report.calls_waiting):
                self._switch(incident, report)
        except TalkUnavailable as error:
            if incident is None:
                raise  # greetings to put back and Talk gone: a failure the worker logs and retries, not a note
            report.unavailable = str(error)
            self._note_once(incident.id, "talk-unavailable",
                            f":telephone_receiver: Outage *{escape(incident.title)}*: the phone queue is not "
                            f"watched and no greeting will change: {escape(str(error))}")
        if report.failed:
            log.warning("voice.line-writes-failed", extra={"lines": ",".join(map(str, report.failed)),
                                                            "reason": next(iter(report.failed.values()))})
        return report

    def summary(self, incident_id: int) -> str | None:
        """What `status` shows of the incident's phone queue and lines, from the store alone."""
        with self.sessions() as session:
            watch = session.get(VoiceWatchRow, incident_id)
            states = [state for (state,) in session.execute(
                select(VoiceLineRow.state).where(VoiceLineRow.incident_id == incident_id))]
        if watch is None:
            return None
        parts = []
        if "talk-unavailable" in watch.notes.split():
            parts.append("Zendesk Talk is not available")
        if watch.polled_at is not None:
            parts.append(f"{watch.calls_waiting} callers waiting at {watch.polled_at.isoformat(timespec='seconds')}")
        if watch.crossings:
            parts.append(f"{watch.crossings} \"shut down routing\" alert{'s' if watch.crossings > 1 else ''}")
        lines = {label: sum(1 for state in states if state in kinds) for label, kinds in (
            ("on the outage greeting", ("switched",)), ("to switch", ("saved",)), ("restored", ("restored",)))}
        if states:
            parts.append("phone lines: " + ", ".join(f"{count} {label}" for label, count in lines.items() if count))
        return "; ".join(parts) or None

    # -- the queue ---------------------------------------------------------------

    def _watched(self) -> IncidentRow | None:
        """The oldest declared incident: the phone queue is the account's, one watch is enough."""
        with self.sessions() as session:
            return session.scalars(select(IncidentRow).where(IncidentRow.state == State.DECLARED)
                                   .order_by(IncidentRow.id).limit(1)).first()

    def _ensure_watch(self, incident_id: int) -> None:
        with self.sessions() as session:
            insert_ignoring_duplicates(session, VoiceWatchRow, [{"incident_id": incident_id}])
            session.commit()

    def _routing(self, incident: IncidentRow, report: VoiceReport) -> None:
        """The crossing is stored first, then Slack told: a restart never alerts the same crossing again."""
        calls, threshold = report.calls_waiting, self.config.outage_desk_voice_alert_calls
        rearm_at = threshold - self.config.outage_desk_voice_alert_margin
        with self.sessions() as session:
            watch = session.get(VoiceWatchRow, incident.id)
            watch.calls_waiting, watch.polled_at = calls, self.clock.now()
            if calls > threshold and watch.routing_armed:
                watch.routing_armed, watch.crossings = 0, watch.crossings + 1
                log.warning("voice.routing-alert", extra={"incident": incident.id, "calls_waiting": calls})
            elif calls <= rearm_at and not watch.routing_armed:
                watch.routing_armed = 1
            # An alert Slack did not take is tried again while the queue is still over: afterwards it is old news.
            crossing = watch.crossings if watch.crossings > watch.crossings_alerted and calls > threshold else None
            session.commit()
        if crossing is None:
            return
        if self.alerts.send(f":rotating_light: {calls} callers waiting in the phone queue (more than {threshold}) "
                            f"during the outage *{escape(incident.title)}*: shut down routing to the phone queue. "
                            f"No other alert until the queue is back to {rearm_at} or fewer and crosses again.",
                            mention=True):
            report.alerted = True
            with self.sessions() as session:
                session.execute(update(VoiceWatchRow).where(VoiceWatchRow.incident_id == incident.id)
                                .values(crossings_alerted=crossing))
                session.commit()

    def _switching(self, incident: IncidentRow, calls: int) -> bool:
        """Whether every line plays the outage greeting: from the first crossing until the resolution."""
        with self.sessions() as session:
            watch = session.get(VoiceWatchRow, incident.id)
            if watch.switched_at is None and calls > self.config.outage_desk_voice_greeting_calls:
                watch.switched_at = self.clock.now()
                log.warning("voice.greetings-switching", extra={"incident": incident.id, "calls_waiting": calls})
                session.commit()
            return watch.switched_at is not None

    # -- greetings -----------------------------------------------------------------

    def _switch(self, incident: IncidentRow, report: VoiceReport) -> None:
        greetings = {greeting.id: greeting for greeting in self.gateway.greetings()}
        outage = self._outage_greetings(greetings.values())
        if not outage:
            self._note_once(incident.id, "no-greeting",
                            f":telephone_receiver: Outage *{escape(incident.title)}*: more than "
                            f"{self.config.outage_desk_voice_greeting_calls} callers waiting, but the account has no "
                            f"greeting named \"{OUTAGE_GREETING} (<language>)\": run `outage-desk setup`.")
            return
        lines = {line.id: line for line in self.gateway.phone_lines()}
        with self.sessions() as session:
            # A line an ended outage has not given back yet plays that outage's greeting, not its own:
            # saved once its restore has landed, on a later poll.
            held = set(session.scalars(select(VoiceLineRow.phone_number_id).where(
                VoiceLineRow.incident_id != incident.id, VoiceLineRow.state.in_(("saved", "switched")))))
        self._save(incident.id, [line for line in lines.values() if line.id not in held], outage)
        with self.sessions() as session:
            rows = list(session.scalars(select(VoiceLineRow).where(VoiceLineRow.incident_id == incident.id)))
        for row in rows:
            if row.state != "saved":
                continue
            line = lines.get(row.phone_number_id)
            if line is None:
                self._mark(row, "gone")  # deleted since it was saved: nothing plays on it any more
                continue
            greeting = greetings.get(row.outage_greeting_id)
            if greeting is None:
                report.failed[line.id] = f"its outage greeting #{row.outage_greeting_id} was deleted from Zendesk"
                continue
            if self._write(line, with_greeting(json.loads(row.previous_greeting_ids), greeting, greetings), report):
                self._mark(row, "switched")
                report.switched.append(line.id)
        if all(row.state in ("switched", "gone") for row in rows):
            self._note_once(incident.id, "switched",
                            f":telephone_receiver: More than {self.config.outage_desk_voice_greeting_calls} callers "
                            f"waiting during the outage *{escape(incident.title)}*: the {len(rows)} phone lines now "
                            "play the outage greeting. Their own greetings come back at the resolution.")

    def _outage_greetings(self, greetings: Iterable[Greeting]) -> dict[str, Greeting]:
        """The outage greeting of each language setup created (the lowest id if an admin made a second)."""
        found: dict[str, Greeting] = {}
        for greeting in sorted(greetings, key=lambda g: g.id):
            language = variant_language(greeting.name, OUTAGE_GREETING)
            if language:
                found.setdefault(language, greeting)
        return found

    def _save(self, incident_id: int, lines: Iterable[PhoneLine], outage: dict[str, Greeting]) -> None:
        """Each line's greetings into the ledger before anything is written to it; a saved line is never saved
        again, so what a crash left half-switched is never taken for the line's own greetings."""
        default = self.config.outage_desk_default_language
        now = self.clock.now()
        rows = []
        for line in lines:
            language = LANGUAGE_BY_COUNTRY.get((line.country_code or "").upper(), default)
            greeting = outage.get(language) or outage.get(default) or outage[min(outage)]
            rows.append({"incident_id": incident_id, "phone_number_id": line.id, "number": line.number[:40],
                         "previous_greeting_ids": json.dumps(list(line.greeting_ids)),
                         "outage_greeting_id": greeting.id, "state": "saved", "updated_at": now})
        with self.sessions() as session:
            insert_ignoring_duplicates(session, VoiceLineRow, rows)
            session.commit()

    def _restore_ended(self, report: VoiceReport) -> None:
        """Put back exactly the greetings the ledger saved, on the lines of incidents no longer declared."""
        with self.sessions() as session:
            rows = list(session.scalars(select(VoiceLineRow).join(IncidentRow).where(
                VoiceLineRow.state.in_(("saved", "switched")), IncidentRow.state != State.DECLARED)
                .order_by(VoiceLineRow.incident_id, VoiceLineRow.phone_number_id)))
        if not rows:
            return
        lines = {line.id: line for line in self.gateway.phone_lines()}
        for row in rows:
            line = lines.get(row.phone_number_id)
            if line is None:
                self._mark(row, "gone")
                continue
            if self._write(line, tuple(json.loads(row.previous_greeting_ids)), report):
                self._mark(row, "restored")
                report.restored.append(line.id)
        for incident_id in sorted({row.incident_id for row in rows}):
            with self.sessions() as session:
                left = session.scalars(select(VoiceLineRow.phone_number_id).where(
                    VoiceLineRow.incident_id == incident_id, VoiceLineRow.state.in_(("saved", "switched")))).first()
                title = session.get(IncidentRow, incident_id).title
            if left is None:
                self._note_once(incident_id, "restored", f":telephone_receiver: Outage *{escape(title)}* over: "
                                                        "every phone line plays its own greetings again.")

    def _write(self, line: PhoneLine, wanted: tuple[int, ...], report: VoiceReport) -> bool:
        """Give the line `wanted`, unless it has it already (a write that landed before a crash); whether it has."""
        if line.greeting_ids == wanted:
            return True
        try:
            self.gateway.set_line_greetings(line.id, wanted)
        except TalkUnavailable:
            raise
        except ZendeskError as error:
            report.failed[line.id] = str(error)
            return False
        return True

    def _mark(self, row: VoiceLineRow, state: str) -> None:
        with self.sessions() as session:
            session.execute(update(VoiceLineRow).where(
                VoiceLineRow.incident_id == row.incident_id, VoiceLineRow.phone_number_id == row.phone_number_id)
                .values(state=state, updated_at=self.clock.now()))
            session.commit()
        row.state = state

    def _note_once(self, incident_id: int, key: str, text: str) -> None:
        """A one-off note to Slack and the log, recorded once Slack took it (or there is no Slack to tell)."""
        with self.sessions() as session:
            insert_ignoring_duplicates(session, VoiceWatchRow, [{"incident_id": incident_id}])
            session.commit()
            if key in session.get(VoiceWatchRow, incident_id).notes.split():
                return
        log.warning(f"voice.{key}", extra={"incident": incident_id, "note": text})
        if self.alerts.send(text) or not self.alerts.enabled:
            with self.sessions() as session:
                watch = session.get(VoiceWatchRow, incident_id)
                watch.notes = f"{watch.notes} {key}".strip()
                session.commit()


def with_greeting(greeting_ids: list[int], outage: Greeting, greetings: dict[int, Greeting]) -> tuple[int, ...]:
    """The line's greeting ids with the outage greeting in place of the one of its category (or added)."""
    kept = [gid for gid in greeting_ids
            if gid not in greetings or greetings[gid].category_id != outage.category_id]
    replaced = [i for i, gid in enumerate(greeting_ids) if gid not in kept]
    position = replaced[0] if replaced else len(greeting_ids)
    before = [gid for gid in greeting_ids[:position] if gid in kept]
    return tuple(before + [outage.id] + [gid for gid in greeting_ids[position:] if gid in kept])
