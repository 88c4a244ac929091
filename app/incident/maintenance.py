"""Scheduled maintenance: a window stored ahead, declared at its start and ended at its end by the worker.

Each of the worker's steps is one transaction that also says it is done. The incident is opened (the same
path as a declaration from the sidebar: the worker's backfill then tags the tickets) in the transaction that
writes its id on the window; the end marks the incident resolving (the worker's resolve sends the closing
replies) and the window ended. A worker that dies or restarts around either time finds the step done or not
done, never half; a claim on the window keeps two processes from running one step at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.errors import InputError, StateError
from app.incident.model import IncidentSpec, Kind
from app.store.claims import Claim
from app.store.tables import IncidentRow, MaintenanceRow

log = logging.getLogger(__name__)

SCHEDULE = "schedule"  # who declared and ended the incident, in its state changes
# The runbook's maintenance is short; a longer one is a decision, taken with --force.
LONGEST_WITHOUT_FORCE = timedelta(minutes=20)
DEFAULT_DURATION = "20m"
DEFAULT_WEEKDAY, DEFAULT_TIME = 5, time(2, 0)  # Saturday 02:00, in the account's time zone
# Opening an incident or marking it resolving takes a moment: a claim this old belongs to a dead process.
CLAIM_TIMEOUT = timedelta(minutes=2)
DURATION = re.compile(r"(?:(\d{1,3})h)?(?:(\d{1,4})m(?:in)?)?")


def parse_duration(text: str) -> timedelta:
    """"20m", "1h", "1h30m".

    :raises InputError: anything else, or no time at all.
    """
    match = DURATION.fullmatch(text.strip().lower())
    if not match or not any(match.groups()):
        raise InputError(f"--duration must be minutes or hours such as 20m, 1h or 1h30m, not {text[:20]!r}")
    duration = timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))
    if duration <= timedelta(0):
        raise InputError("--duration must be longer than nothing")
    return duration


def next_default_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The next Saturday at 02:00 in `zone` after `now`, in UTC."""
    local = now.astimezone(zone)
    day = local.date() + timedelta(days=(DEFAULT_WEEKDAY - local.weekday()) % 7)
    start = datetime.combine(day, DEFAULT_TIME, tzinfo=zone)
    if start <= now:
        start = datetime.combine(day + timedelta(days=7), DEFAULT_TIME, tzinfo=zone)
    return start.astimezone(timezone.utc)


@dataclass(frozen=True)
class WindowSpec:
    """What an admin schedules: the outage it will be (as declare takes it), when, and for how long."""

    title: str
    query: str
    tag: str
    severity: int
    cr_value: str
    starts_at: datetime
    duration: timedelta

    def incident(self) -> IncidentSpec:
        """The incident it declares; checks the title, query and tag as a declaration would."""
        return IncidentSpec(title=self.title, query=self.query, started_at=self.starts_at, severity=self.severity,
                            kind=Kind.SCHEDULED, tag=self.tag, cr_value=self.cr_value)


def window_state(row: MaintenanceRow, now: datetime) -> str:
    """How `schedule --list` and the sidebar say where a window stands."""
    if row.cancelled_at is not None:
        return "cancelled"
    if row.detail is not None:
        return "not declared"
    if row.ended_at is not None:
        return "ended"
    if row.incident_id is not None:
        return "declared"
    return "upcoming" if row.starts_at > now else "due"


class NotDeclarable(Exception):
    """The window was cancelled (or linked) while its incident was being opened: the opening is rolled back."""


class Maintenance:
    """Schedules maintenance windows, and runs the worker's steps for those that are due."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock,
                 open_incident: Callable[..., IncidentRow], mark_resolving: Callable[..., IncidentRow]):
        self.sessions = sessions
        self.clock = clock
        # The desk's own declare and resolve paths, which record each state change with its cause.
        self._open_incident = open_incident
        self._mark_resolving = mark_resolving

    # -- the admin's side ---------------------------------------------------------

    def check(self, spec: WindowSpec, force: bool) -> None:
        """:raises InputError: the window starts in the past, is too long without `force`, overlaps another,
        or its incident could not be declared as given."""
        spec.incident()
        now = self.clock.now()
        if spec.starts_at <= now:
            raise InputError(f"the start {spec.starts_at.isoformat(timespec='minutes')} is in the past "
                             f"(it is {now.isoformat(timespec='minutes')})")
        if spec.duration > LONGEST_WITHOUT_FORCE and not force:
            raise InputError(f"a maintenance of {_minutes(spec.duration)} is longer than "
                             f"{_minutes(LONGEST_WITHOUT_FORCE)}: shorten it, or add --force")
        try:
            ends_at = spec.starts_at + spec.duration
        except OverflowError:
            raise InputError("the maintenance would end after the year 9999") from None
        with self.sessions() as session:
            other = session.scalars(select(MaintenanceRow).where(
                MaintenanceRow.cancelled_at.is_(None), MaintenanceRow.starts_at < ends_at,
                MaintenanceRow.ends_at > spec.starts_at).order_by(MaintenanceRow.starts_at)).first()
        if other is not None:
            raise InputError(f"it overlaps maintenance #{other.id} \"{other.title}\" "
                             f"({_span(other.starts_at, other.ends_at)}): pick another time or cancel that one")

    def schedule(self, spec: WindowSpec, force: bool = False, by: str | int = "cli",
                 also: Callable[[Session, MaintenanceRow], None] | None = None) -> MaintenanceRow:
        """Store the window; `also` adds to its transaction (its advance notice).

        :raises InputError: see :meth:`check`.
        """
        self.check(spec, force)
        row = MaintenanceRow(title=spec.title, query=spec.query, tag=spec.tag, severity=spec.severity,
                             cr_value=spec.cr_value, starts_at=spec.starts_at, ends_at=spec.starts_at + spec.duration,
                             created_by=str(by)[:80], created_at=self.clock.now())
        with self.sessions() as session:
            session.add(row)
            session.flush()
            if also is not None:
                also(session, row)
            session.commit()
        log.info("maintenance.scheduled", extra={"maintenance": row.id, "starts_at": row.starts_at.isoformat()})
        return row

    def windows(self, upcoming_only: bool = False) -> list[MaintenanceRow]:
        """Every window, soonest first; or those not over nor cancelled (what the sidebar shows)."""
        query = select(MaintenanceRow).order_by(MaintenanceRow.starts_at, MaintenanceRow.id)
        if upcoming_only:
            query = query.where(MaintenanceRow.cancelled_at.is_(None), MaintenanceRow.ended_at.is_(None),
                                MaintenanceRow.detail.is_(None))
        with self.sessions() as session:
            return list(session.scalars(query))

    def window(self, window_id: int) -> MaintenanceRow:
        with self.sessions() as session:
            row = session.get(MaintenanceRow, window_id)
        if row is None:
            raise StateError(f"no maintenance #{window_id}")
        return row

    def cancel(self, window_id: int) -> MaintenanceRow:
        """Cancel a window its start has not declared yet.

        :raises StateError: no such window, already cancelled, or already declared (resolve that incident).
        """
        with self.sessions() as session:
            cancelled = session.execute(update(MaintenanceRow).where(
                MaintenanceRow.id == window_id, MaintenanceRow.cancelled_at.is_(None),
                MaintenanceRow.incident_id.is_(None), MaintenanceRow.ended_at.is_(None))
                .values(cancelled_at=self.clock.now())).rowcount
            session.commit()
        row = self.window(window_id)
        if not cancelled:
            if row.cancelled_at is not None:
                raise StateError(f"maintenance #{window_id} is already cancelled")
            if row.incident_id is not None:
                raise StateError(f"maintenance #{window_id} is already declared as incident #{row.incident_id}: "
                                 "end it with `outage-desk resolve`")
            raise StateError(f"maintenance #{window_id} is over")
        log.info("maintenance.cancelled", extra={"maintenance": window_id})
        return row

    # -- the worker's side ------------------------------------------------------------

    def run_due(self) -> int:
        """Declare the windows whose start has come and end those whose end has; returns how many steps ran."""
        now = self.clock.now()
        with self.sessions() as session:
            due = list(session.scalars(select(MaintenanceRow.id).where(
                MaintenanceRow.cancelled_at.is_(None), MaintenanceRow.ended_at.is_(None),
                MaintenanceRow.detail.is_(None),
                MaintenanceRow.starts_at <= now).order_by(MaintenanceRow.starts_at)))
        return sum(self._step(window_id) for window_id in due)

    def _step(self, window_id: int) -> bool:
        claim = Claim(self.sessions, self.clock, MaintenanceRow.id, window_id, MaintenanceRow.claimed_at,
                      CLAIM_TIMEOUT)
        if not claim.take(steal=False):
            return False  # another process is at it
        try:
            # As the store has it now: whoever held the claim before may have done the step.
            row = self.window(window_id)
            now = self.clock.now()
            if row.cancelled_at is not None or row.ended_at is not None or row.detail is not None:
                return False
            if row.incident_id is None and row.ends_at <= now:
                self._set(window_id, ended_at=now, detail="not declared: no worker ran between its start and end")
                log.warning("maintenance.missed", extra={"maintenance": window_id})
                return True
            if row.incident_id is None:
                self._declare(row)
                return True
            if row.ends_at <= now:
                self._end(row)
                return True
            return False
        finally:
            claim.release()

    def _declare(self, row: MaintenanceRow) -> None:
        spec = WindowSpec(row.title, row.query, row.tag, row.severity, row.cr_value, row.starts_at,
                          row.ends_at - row.starts_at).incident()

        def link(session: Session, incident: IncidentRow) -> None:
            # In the incident's own transaction: if the window was cancelled meanwhile, no incident is opened.
            linked = session.execute(update(MaintenanceRow).where(
                MaintenanceRow.id == row.id, MaintenanceRow.incident_id.is_(None),
                MaintenanceRow.cancelled_at.is_(None)).values(incident_id=incident.id)).rowcount
            if not linked:
                raise NotDeclarable(row.id)
        try:
            incident = self._open_incident(spec, by=SCHEDULE, then=link)
        except NotDeclarable:
            return
        except (StateError, InputError) as error:
            # Another incident holds the tag (or the query no longer parses): the window stays undeclared, and says why.
            self._set(row.id, detail=f"not declared: {error}"[:500])
            log.warning("maintenance.not-declared", extra={"maintenance": row.id, "reason": str(error)})
            return
        log.info("maintenance.declared", extra={"maintenance": row.id, "incident": incident.id})

    def _end(self, row: MaintenanceRow) -> None:
        # Marking resolving changes a declared incident only: run twice (a crash before ended_at is
        # written), the second does nothing; one a person already ended stays as it is.
        self._mark_resolving(row.incident_id, by_user=SCHEDULE)
        self._set(row.id, ended_at=self.clock.now())
        log.info("maintenance.ended", extra={"maintenance": row.id, "incident": row.incident_id})

    def _set(self, window_id: int, **values) -> None:
        with self.sessions() as session:
            session.execute(update(MaintenanceRow).where(MaintenanceRow.id == window_id).values(**values))
            session.commit()


def _minutes(duration: timedelta) -> str:
    return f"{int(duration.total_seconds() // 60)} minutes"


def _span(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
