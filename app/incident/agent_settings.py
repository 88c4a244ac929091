"""Agent settings for the outage: chats per agent through Zendesk's Chat API, wrap-up time on the admins' checklist.

Which setting has an API (Zendesk's documentation, looked up for issue 10):
- Chats per agent: Chat API Routing Settings, PATCH /api/v2/chat/routing_settings/account, `chat_limit.limit`
  (https://developer.zendesk.com/api-reference/live-chat/chat-api/routing_settings/). The Chat API takes only a
  token from a Chat OAuth client, so it is used when OUTAGE_DESK_CHAT_OAUTH_TOKEN is set; without it, or when
  Zendesk refuses it, the setting goes on the checklist instead.
- Talk wrap-up time: no public API. Voice settings (GET/PUT /api/v2/channels/voice/settings) carry only
  `agent_wrap_up_after_calls`, a read-only legacy boolean; the lines' API (phone_numbers) no wrap-up field.
  So it is on the checklist, always.

Exactly once, whatever dies: the setting's previous value is stored (`applying`) before the write that changes
it, and the restore writes that stored value back (`restoring` first), so a rerun after a crash anywhere sends
the same idempotent write again and ends with exactly what was there before. The checklist of each phase is
stored with its Slack message's row in one transaction; the message is claimed while it is sent and marked
sent once Slack took it. The worker runs all of it; the sidebar's tick is a store write.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.slack import SlackAlerts, escape
from app.clock import Clock
from app.config import Config
from app.errors import InputError, ZendeskError, ZendeskHttpError, ZendeskRateLimited, ZendeskServerError
from app.incident.model import State
from app.store.claims import Claim
from app.store.tables import ChecklistItemRow, ChecklistPostRow, IncidentRow, SettingChangeRow
from app.zendesk.gateway import ZendeskGateway

log = logging.getLogger(__name__)

DECLARE, RESOLVE = "declare", "resolve"
CHATS_PER_AGENT, WRAP_UP = "chats_per_agent", "wrap_up"
LIVE = ("applying", "applied", "restoring")
# A checklist message claimed this long ago and not sent belongs to a process that died before sending.
POST_CLAIM_TIMEOUT = timedelta(minutes=5)
ENDED = (State.RESOLVING, State.RESOLVED)


def refused(error: ZendeskError) -> bool:
    """Zendesk said no for good (no access, no such resource, a value it will not take): retrying changes nothing."""
    return isinstance(error, ZendeskHttpError) and not isinstance(error, (ZendeskRateLimited, ZendeskServerError))


def item_key(setting: str, phase: str) -> str:
    return f"{setting}-{phase}"


@dataclass(frozen=True)
class ChecklistItem:
    incident_id: int
    item: str
    phase: str
    setting: str
    value: int  # what the admin sets: seconds of wrap-up, or chats per agent
    text: str
    ticked_by: int | None
    ticked_at: datetime | None


class AgentSettings:
    """The worker's pass over agent settings, and the checklist the sidebar shows and ticks."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], gateway: ZendeskGateway | None, clock: Clock,
                 alerts: SlackAlerts):
        self.config = config
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        self.alerts = alerts

    # -- the worker's pass ---------------------------------------------------------

    def run(self) -> int:
        """Change the settings of declared outages and post their checklist; restore and post again once they
        end. Returns how many things it did. A Zendesk failure leaves the setting for the next pass."""
        done = 0
        with self.sessions() as session:
            declared = list(session.scalars(select(IncidentRow).where(IncidentRow.state == State.DECLARED)
                                            .order_by(IncidentRow.id)))
            # Those whose declaration a pass saw (an outage over before it did has nothing to restore), until
            # their end is settled (the store keeps every past outage); and any with a change still live, even
            # if the worker died before storing its declaration's checklist.
            started = select(ChecklistPostRow.id).where(ChecklistPostRow.incident_id == IncidentRow.id,
                                                        ChecklistPostRow.phase == DECLARE)
            told = select(ChecklistPostRow.id).where(ChecklistPostRow.incident_id == IncidentRow.id,
                                                     ChecklistPostRow.phase == RESOLVE,
                                                     ChecklistPostRow.sent_at.is_not(None))
            live = select(SettingChangeRow.id).where(SettingChangeRow.incident_id == IncidentRow.id,
                                                     SettingChangeRow.state.in_(LIVE))
            ended = list(session.scalars(select(IncidentRow).where(
                IncidentRow.state.in_(ENDED), or_(and_(started.exists(), ~told.exists()), live.exists()))
                .order_by(IncidentRow.id)))
        for incident in declared:
            done += self._apply(incident)
            done += self._post(incident, DECLARE)
        for incident in ended:
            done += self._restore(incident)
            done += self._post(incident, RESOLVE)
        return done

    def _apply(self, incident: IncidentRow) -> int:
        """Chats per agent to the outage's value, its previous value stored first."""
        with self.sessions() as session:
            row = self._change(session, incident.id)
            if row is not None and row.state != "applying":
                return 0  # applied, or on the checklist
            if row is None and session.scalar(select(SettingChangeRow.id).where(
                    SettingChangeRow.setting == CHATS_PER_AGENT, SettingChangeRow.state.in_(LIVE))) is not None:
                return 0  # another outage changed it already and hands it over when it ends
        token = self.config.outage_desk_chat_oauth_token
        if not token:
            self._no_api(incident, "OUTAGE_DESK_CHAT_OAUTH_TOKEN is not set")
            return 1
        outage = {"enabled": True, "limit": self.config.outage_desk_outage_chats_per_agent}
        try:
            if row is None:
                previous = self.gateway.chat_routing(token).get("chat_limit")
                if not isinstance(previous, dict):
                    self._no_api(incident, "Zendesk's chat routing settings have no chat limit")
                    return 1
                row = self._store_previous(incident, previous, outage)
                if row is None:
                    return 0
            # Sent again by a rerun after a crash: the same value, the same settings.
            self.gateway.update_chat_routing(token, {"chat_limit": outage})
        except ZendeskError as error:
            if not refused(error):
                self._failed(row, error)
                return 0
            self._no_api(incident, str(error))
            return 1
        with self.sessions() as session:
            session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id)
                            .values(state="applied", detail=None, changed_at=self.clock.now()))
            session.commit()
        log.info("settings.applied", extra={"incident": incident.id, "setting": CHATS_PER_AGENT,
                                            "limit": outage["limit"]})
        return 1

    def _store_previous(self, incident: IncidentRow, previous: dict, outage: dict) -> SettingChangeRow | None:
        """The previous value, in the store before the write; None if another outage's change won the race."""
        with self.sessions() as session:
            row = SettingChangeRow(incident_id=incident.id, setting=CHATS_PER_AGENT, previous=json.dumps(previous),
                                   outage_value=json.dumps(outage), state="applying")
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                return None
            session.refresh(row)
            session.expunge(row)
            return row

    def _restore(self, incident: IncidentRow) -> int:
        """The stored previous value back, or the change handed to an outage still declared."""
        with self.sessions() as session:
            row = self._change(session, incident.id)
            if row is None or row.state not in LIVE:
                return 0
            heir = session.scalars(select(IncidentRow.id).where(IncidentRow.state == State.DECLARED,
                                                                IncidentRow.id != incident.id)
                                   .order_by(IncidentRow.id).limit(1)).first()
            if heir is not None:
                # Still an outage: its end restores what was there before both.
                session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id)
                                .values(incident_id=heir))
                session.commit()
                log.info("settings.handed-over", extra={"incident": incident.id, "to": heir})
                return 1
            # Recorded before the write: whoever resumes knows to send the stored value again.
            session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id).values(state="restoring"))
            session.commit()
        previous = json.loads(row.previous)
        try:
            self.gateway.update_chat_routing(self.config.outage_desk_chat_oauth_token or "", {"chat_limit": previous})
        except ZendeskError as error:
            if not refused(error):
                self._failed(row, error)
                return 0
            # Nobody can write it back but an admin, by hand: the resolve checklist says to what.
            with self.sessions() as session:
                session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id)
                                .values(state="no_api", detail=str(error)[:500]))
                self._add_items(session, incident.id, RESOLVE, [CHATS_PER_AGENT], chats=previous.get("limit"))
                session.commit()
            return 1
        with self.sessions() as session:
            session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id)
                            .values(state="restored", detail=None, restored_at=self.clock.now()))
            session.commit()
        log.info("settings.restored", extra={"incident": incident.id, "setting": CHATS_PER_AGENT})
        return 1

    def _change(self, session: Session, incident_id: int) -> SettingChangeRow | None:
        return session.scalars(select(SettingChangeRow).where(SettingChangeRow.incident_id == incident_id,
                                                              SettingChangeRow.setting == CHATS_PER_AGENT)).first()

    def _previous_chats(self, session: Session, incident_id: int) -> int | None:
        """Chats per agent before the outage, when Zendesk told us."""
        change = self._change(session, incident_id)
        return json.loads(change.previous).get("limit") if change is not None and change.previous else None

    def _no_api(self, incident: IncidentRow, reason: str) -> None:
        """No Chat API for us: chats per agent joins the checklist, at the declaration and at the resolve."""
        with self.sessions() as session:
            row = self._change(session, incident.id)
            if row is None:
                session.add(SettingChangeRow(incident_id=incident.id, setting=CHATS_PER_AGENT, state="no_api",
                                             outage_value=json.dumps({"limit": self.config.outage_desk_outage_chats_per_agent}),
                                             detail=reason[:500]))
            else:
                # Refused after the previous value was stored (the write may not have landed): the admin does it.
                row.state, row.detail = "no_api", reason[:500]
            self._add_items(session, incident.id, DECLARE, [CHATS_PER_AGENT])
            session.commit()
        log.warning("settings.no-api", extra={"incident": incident.id, "setting": CHATS_PER_AGENT, "reason": reason})

    def _failed(self, row: SettingChangeRow | None, error: ZendeskError) -> None:
        log.warning("settings.failed", extra={"setting": CHATS_PER_AGENT, "error": type(error).__name__})
        if row is not None:
            with self.sessions() as session:
                session.execute(update(SettingChangeRow).where(SettingChangeRow.id == row.id)
                                .values(detail=str(error)[:500]))
                session.commit()

    # -- the checklist -----------------------------------------------------------------

    def _texts(self, phase: str, chats: int | None = None) -> dict[str, tuple[int, str]]:
        """Each setting's value and instruction for the phase, as Slack and `status` word it."""
        config = self.config
        if phase == DECLARE:
            wrap_up, chats = config.outage_desk_outage_wrap_up_seconds, config.outage_desk_outage_chats_per_agent
            return {WRAP_UP: (wrap_up, f"Set Talk's wrap-up time to {_duration(wrap_up)} on every line "
                                       "(Admin Center > Channels > Talk and email > Talk > Lines)"),
                    CHATS_PER_AGENT: (chats, f"Raise chats per agent to {chats} (Admin Center > Objects and rules > "
                                             "Omnichannel routing > Routing configuration, or Chat's routing settings)")}
        wrap_up, chats = config.outage_desk_usual_wrap_up_seconds, chats or config.outage_desk_usual_chats_per_agent
        return {WRAP_UP: (wrap_up, f"Set Talk's wrap-up time back to {_duration(wrap_up)} on every line"),
                CHATS_PER_AGENT: (chats, f"Set chats per agent back to {chats}")}

    def _add_items(self, session: Session, incident_id: int, phase: str, settings: list[str],
                   chats: int | None = None) -> None:
        texts = self._texts(phase, chats)
        for setting in settings:
            key = item_key(setting, phase)
            if session.get(ChecklistItemRow, (incident_id, key)) is None:
                session.add(ChecklistItemRow(incident_id=incident_id, item=key, phase=phase, text=texts[setting][1]))

    def _plan(self, incident_id: int, phase: str) -> ChecklistPostRow:
        """The phase's checklist and its Slack message's row, stored together once."""
        with self.sessions() as session:
            post = session.scalars(select(ChecklistPostRow).where(ChecklistPostRow.incident_id == incident_id,
                                                                  ChecklistPostRow.phase == phase)).first()
            if post is None:
                settings = [WRAP_UP]
                if phase == RESOLVE and session.get(ChecklistItemRow, (incident_id, item_key(CHATS_PER_AGENT, DECLARE))):
                    settings.append(CHATS_PER_AGENT)  # set by hand for the outage: back by hand
                self._add_items(session, incident_id, phase, settings, chats=self._previous_chats(session, incident_id))
                post = ChecklistPostRow(incident_id=incident_id, phase=phase)
                session.add(post)
                session.commit()
                session.refresh(post)
            session.expunge(post)
            return post

    def _post(self, incident: IncidentRow, phase: str) -> int:
        """The phase's checklist to Slack, once: claimed while it is sent, marked sent once Slack took it."""
        post = self._plan(incident.id, phase)
        if post.sent_at is not None:
            return 0
        claim = Claim(self.sessions, self.clock, ChecklistPostRow.id, post.id, ChecklistPostRow.claimed_at,
                      POST_CLAIM_TIMEOUT)
        if not claim.take(steal=False):
            return 0
        try:
            # No channel configured: nothing to wait for.
            sent = self.alerts.send(self._message(incident, phase)) if self.alerts.enabled else True
            if sent:
                with self.sessions() as session:
                    session.execute(update(ChecklistPostRow).where(ChecklistPostRow.id == post.id)
                                    .values(sent_at=self.clock.now()))
                    session.commit()
        finally:
            claim.release()
        return int(sent)

    def _message(self, incident: IncidentRow, phase: str) -> str:
        with self.sessions() as session:
            change = self._change(session, incident.id)
        head = (f":clipboard: Agent settings for the outage *{escape(incident.title)}* (#{incident.id})"
                if phase == DECLARE else
                f":clipboard: The outage *{escape(incident.title)}* (#{incident.id}) is over: agent settings back")
        lines = [head + ":"]
        if change is not None and change.state != "no_api" and change.previous:
            before = json.loads(change.previous).get("limit")
            after = json.loads(change.outage_value).get("limit")
            if phase == DECLARE:
                done = "done" if change.state == "applied" else "not yet: Outage Desk keeps trying"
                lines.append(f"• Chats per agent {before} → {after} through Zendesk's Chat API: {done}.")
            else:
                done = "done" if change.state == "restored" else "not yet: Outage Desk keeps trying"
                lines.append(f"• Chats per agent {after} → {before} through Zendesk's Chat API: {done}.")
        items = [i for i in self.checklist(incident.id) if i.phase == phase]
        if items:
            lines.append("To do by hand in Zendesk (tick each in the Outage Desk sidebar when done):")
            lines += [f"• {escape(i.text)}" for i in items]
        return "\n".join(lines)

    def checklist(self, incident_id: int) -> list[ChecklistItem]:
        """The incident's checklist, declaration first, with who ticked what when."""
        with self.sessions() as session:
            rows = list(session.scalars(select(ChecklistItemRow).where(ChecklistItemRow.incident_id == incident_id)))
            chats = self._previous_chats(session, incident_id)
        rows.sort(key=lambda row: (row.phase != DECLARE, row.item))
        items = []
        for row in rows:
            setting = row.item.rsplit("-", 1)[0]
            value = self._texts(row.phase, chats)[setting][0]
            items.append(ChecklistItem(incident_id, row.item, row.phase, setting, value, row.text, row.ticked_by,
                                       row.ticked_at))
        return items

    def changes(self, incident_id: int) -> list[dict]:
        """What went through Zendesk's API for the incident: the setting, before, during, and where it stands."""
        with self.sessions() as session:
            change = self._change(session, incident_id)
        if change is None or change.previous is None or change.state == "no_api":
            return []
        return [{"setting": change.setting, "before": json.loads(change.previous).get("limit"),
                 "outage": json.loads(change.outage_value).get("limit"), "state": change.state}]

    def unticked(self) -> list[ChecklistItem]:
        """Every item nobody ticked yet, of any incident, for `status`."""
        with self.sessions() as session:
            incident_ids = sorted(set(session.scalars(select(ChecklistItemRow.incident_id).where(
                ChecklistItemRow.ticked_at.is_(None)))))
        return [item for incident_id in incident_ids for item in self.checklist(incident_id) if item.ticked_at is None]

    def tick(self, incident_id: int, item: str, by_user: int) -> ChecklistItem:
        """An admin says it is done; the first tick stands (a second click changes nothing).

        :raises InputError: 404, the incident has no such item.
        """
        with self.sessions() as session:
            ticked = session.execute(update(ChecklistItemRow).where(
                ChecklistItemRow.incident_id == incident_id, ChecklistItemRow.item == item,
                ChecklistItemRow.ticked_at.is_(None)).values(ticked_by=by_user, ticked_at=self.clock.now())).rowcount
            session.commit()
        found = [i for i in self.checklist(incident_id) if i.item == item]
        if not found:
            raise InputError(f"incident #{incident_id} has no checklist item {item!r}", http_status=404)
        if ticked:
            log.info("settings.ticked", extra={"incident": incident_id, "item": item, "by": by_user})
        return found[0]


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds} s"
