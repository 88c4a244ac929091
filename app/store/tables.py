"""The tables: incidents, the tickets they took in, the webhook inboxes, the closing and update ledgers, the worker
lease."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out: SQLite forgets the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC times only")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


ACTIVE_STATES_SQL = "state IN ('declared', 'resolving')"


class Base(DeclarativeBase):
    pass


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)
    tag: Mapped[str] = mapped_column(String(80))
    cr_value: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    declared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    problem_ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    # Set once the problem ticket exists and the search backfill is done; the worker finishes
    # incidents declared from the sidebar, whose request path makes no Zendesk call.
    backfilled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who runs the backfill: claimed atomically, so the CLI and the worker never both do it.
    backfill_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    origin_ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    # When resolve knew the problem ticket solved with its note: a rerun asks Zendesk nothing more.
    problem_solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who sends the closing replies of a resolving incident: renewed while they go out, so the worker
    # finishes a resolve whose process died, and leaves alone one that is running.
    resolve_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The cluster detection opened a suspected incident for (its subject's significant words); its
    # tickets are the sightings under that key since the start.
    subject_key: Mapped[str | None] = mapped_column(String(200))
    # When its last interim update was posted: taken by one conditional UPDATE, so of two posts at once
    # within the interval exactly one is accepted.
    last_update_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When its requesters and organisations were put in aftercare: the worker marks resolved incidents without it.
    aftercare_marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # One declared or resolving incident per tag: the database enforces it, not a check-then-insert.
        # Suspected and dismissed ones write nothing to Zendesk, so they hold no tag yet.
        Index("one_active_incident_per_tag", "tag", unique=True,
              sqlite_where=text(ACTIVE_STATES_SQL), postgresql_where=text(ACTIVE_STATES_SQL)),
        # One open suspicion per cluster: arriving tickets join it rather than open another.
        Index("one_suspected_incident_per_subject", "subject_key", unique=True,
              sqlite_where=text("state = 'suspected'"), postgresql_where=text("state = 'suspected'")),
    )


class AffectedTicketRow(Base):
    """The take-in ledger: a ticket of the incident, recorded before the write that takes it in."""

    __tablename__ = "affected_tickets"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # backfill | sweep | webhook | attach
    taken_in_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    # submitted (a write may be in flight) -> taken | retry (at retry_at) | given_up (detail says why)
    state: Mapped[str] = mapped_column(String(20), server_default="taken")
    # Whether the take-in write carries the customer's acknowledgement (else the private note).
    acknowledged: Mapped[int] = mapped_column(Integer, server_default="0")
    # The ticket's updated_at when the write was built: sent with safe_update, so that of two
    # writes racing after a crash only one applies.
    updated_stamp: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("affected_tickets_state", "incident_id", "state"),)


class InboxRow(Base):
    """A webhook delivery, stored before it is acknowledged."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invocation_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(200))
    # When the comment-redaction scan read the event's ticket: a second consumer of the same deliveries.
    secrets_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("inbox_unprocessed", "processed_at", "id"),
                      Index("inbox_secrets_unchecked", "secrets_checked_at", "id"))


class NotificationRow(Base):
    """The closing ledger: one row per ticket to notify, whatever happens to the process."""

    __tablename__ = "notifications"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    audience: Mapped[str] = mapped_column(String(20))  # abandoned | unassigned | assigned
    # Free text from Zendesk (macro titles, requester names, error reasons): PostgreSQL, unlike
    # SQLite, enforces a VARCHAR's length, so these have none.
    language: Mapped[str] = mapped_column(Text)
    # email | callback: the closing reply, or the private call-back note for a requester without email
    kind: Mapped[str] = mapped_column(String(20), server_default="email")
    # planned -> submitted (a write may be in flight) -> sent | callback | retry (at retry_at) | given_up
    state: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    phone: Mapped[str | None] = mapped_column(Text)
    # The ticket's updated_at when planned: sent with safe_update so that of two writes
    # racing after a crash, only one can apply.
    updated_stamp: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("notifications_state", "incident_id", "state"),)


class UpdateRow(Base):
    """An interim update an admin posted: stored before anything is sent, so a rerun or the worker finishes it."""

    __tablename__ = "updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The incident's update, or (incident none) the advance notice of a maintenance window.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    maintenance_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_windows.id",
                                                                  name="updates_maintenance_id_fkey"))
    # What to send: a JSON object of texts by language, or the title of a macro family.
    texts: Mapped[str | None] = mapped_column(Text)
    macro: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set in the transaction that stores the plan: a crash before it plans again, after it never.
    planned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Renewed while the replies go out, as a resolve's claim: the worker carries on an update whose process died.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("updates_by_incident", "incident_id", "created_at"),)


class UpdateReplyRow(Base):
    """The update ledger: one row per ticket of the incident, whatever happens to the process."""

    __tablename__ = "update_replies"

    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    language: Mapped[str] = mapped_column(Text)
    # planned -> submitted (a write may be in flight) -> sent | retry (at retry_at) | skipped | given_up
    state: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    # The ticket's updated_at when planned, sent with safe_update as the closing reply's.
    updated_stamp: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)  # why skipped or given up, or the last failure
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("update_replies_state", "update_id", "state"),)


class TaskRow(Base):
    """Work an agent asked for in the sidebar, done by the worker (attach, detach, resolve, notify)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)  # may quote an error from Zendesk

    __table_args__ = (Index("tasks_pending", "done_at", "id"),)


class SettingRow(Base):
    """Values `setup` learns from Zendesk, such as the webhook's signing secret."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LeaseRow(Base):
    """Who may run a one-process-only duty (the worker's jobs), until when: renewed while they run."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SightingRow(Base):
    """A new ticket seen by detection, under its subject's key."""

    __tablename__ = "sightings"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("sightings_by_subject", "subject_key", "seen_at"),)


class AlertRow(Base):
    """A suspected-outage alert sent: one per subject per detection window."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(200))
    tickets: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The suspected incident the alert links to (none for alerts sent by an older release).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))

    __table_args__ = (Index("alerts_by_subject", "subject_key", "sent_at"),)


class StateChangeRow(Base):
    """An incident's state change and who or what caused it: a user id, "detection", "cli" or "worker"."""

    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("state_changes_by_incident", "incident_id", "id"),)


class HeartbeatRow(Base):
    """The last write of each host's readiness check: it proves the store takes writes, not only reads."""

    __tablename__ = "heartbeats"

    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Counts every check: SQLite skips writing a row set to the values it already holds, so the same
    # time twice would commit nothing and pass on a store that takes no write.
    beats: Mapped[int] = mapped_column(BigInteger)


class StatusEventRow(Base):
    """A status page's incident webhook, stored before it is acknowledged; the worker acts on it once."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The status page's incident id, status and update time: a redelivery has the same, and is not stored again.
    delivery_key: Mapped[str] = mapped_column(String(200), unique=True)
    source_id: Mapped[str] = mapped_column(String(100))  # the status page's incident id
    name: Mapped[str] = mapped_column(Text)  # the status page's incident name: free text, as the customers read it
    status: Mapped[str] = mapped_column(String(20))  # investigating | identified | monitoring | resolved
    impact: Mapped[str | None] = mapped_column(String(20))
    # The mapped components it names (a JSON list of OUTAGE_DESK_STATUS_COMPONENTS keys).
    components: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the status page incident's created_at
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # Set once Slack has the step: a step Slack missed is told on the next pass.
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A resolve that waits for a person (OUTAGE_DESK_STATUS_RESOLVE=confirm): since when, who confirmed it, and when.
    confirm_asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("status_events_pending", "processed_at", "id"),
                      Index("status_events_by_incident", "incident_id", "id"))


class VoiceWatchRow(Base):
    """What the voice watch knows of a declared incident's phone queue, so a restarted worker carries on."""

    __tablename__ = "voice_watches"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    calls_waiting: Mapped[int | None] = mapped_column(Integer)  # at the last poll
    polled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The "shut down routing" alert: disarmed by a crossing (stored before Slack hears of it), re-armed once
    # the queue is back below the threshold minus the margin. Crossings alerted trail crossings while
    # Slack has not taken the alert.
    routing_armed: Mapped[int] = mapped_column(Integer, server_default="1")
    crossings: Mapped[int] = mapped_column(Integer, server_default="0")
    crossings_alerted: Mapped[int] = mapped_column(Integer, server_default="0")
    # When the queue first crossed the greeting threshold: every line plays the outage greeting from then on.
    switched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The one-off Slack notes sent (space-separated keys: talk-unavailable, no-greeting, switched, restored).
    notes: Mapped[str] = mapped_column(Text, server_default="")


class VoiceLineRow(Base):
    """The greeting ledger: a phone line's greetings, saved before the outage greeting replaces them.

    saved (the line's greeting ids stored; a write may be in flight) -> switched -> restored.
    """

    __tablename__ = "voice_lines"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    phone_number_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    previous_greeting_ids: Mapped[str] = mapped_column(Text)  # a JSON list, in Zendesk's order
    outage_greeting_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("voice_lines_state", "state", "incident_id"),)


class SettingChangeRow(Base):
    """An agent setting changed through Zendesk's API for an outage: what it was before, stored before the write.

    applying (the write may be in flight) -> applied -> restoring -> restored; no_api when Zendesk refused us
    the setting (its checklist items stand in). One live change per setting: a second outage declared meanwhile
    leaves it to the first, and the first hands it over when it ends before the second.
    """

    __tablename__ = "setting_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    setting: Mapped[str] = mapped_column(String(40))
    previous: Mapped[str | None] = mapped_column(Text)  # JSON, exactly as Zendesk gave it
    outage_value: Mapped[str] = mapped_column(Text)  # JSON
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)  # the last failure, or why there is no API
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("one_live_change_per_setting", "setting", unique=True,
              sqlite_where=text("state IN ('applying', 'applied', 'restoring')"),
              postgresql_where=text("state IN ('applying', 'applied', 'restoring')")),
        Index("setting_changes_by_incident", "incident_id"),
    )


class ChecklistItemRow(Base):
    """A setting an admin changes by hand (no API), at the declaration or at the resolve, and who ticked it when."""

    __tablename__ = "checklist_items"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(20))  # declare | resolve
    text: Mapped[str] = mapped_column(Text)
    ticked_by: Mapped[int | None] = mapped_column(BigInteger)
    ticked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ChecklistPostRow(Base):
    """The checklist's Slack message of one phase: stored with the items, claimed while it is sent, then sent."""

    __tablename__ = "checklist_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    phase: Mapped[str] = mapped_column(String(20))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("one_checklist_post_per_phase", "incident_id", "phase", unique=True),)


class MaintenanceRow(Base):
    """A scheduled maintenance window: the worker declares its incident at the start and resolves it at the end."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    tag: Mapped[str] = mapped_column(String(80))
    severity: Mapped[int] = mapped_column(Integer)
    cr_value: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set in the transaction that opens the incident: a crash before it declares again, after it never.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # Set in the transaction that marks the incident resolving (or finds it already ended by a person).
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who is declaring or ending it now: one process at a time, taken over once it lapses.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Why the worker could not declare it (another incident held its tag), shown by `schedule --list`.
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("maintenance_windows_due", "ended_at", "starts_at"),)


class MergeRow(Base):
    """The merge ledger: a customer's second ticket of an outage, merged into their first, recorded before the merge.

    planned -> submitted (the merge may be in flight) -> merged | skipped (detail says why)
    """

    __tablename__ = "merges"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    source_ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    target_ticket_id: Mapped[int] = mapped_column(BigInteger)
    requester_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))
    job_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)  # why skipped, or the last failure (Zendesk's words)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("merges_state", "incident_id", "state"),)


class ReopenedTicketRow(Base):
    """A ticket its customer reopened after its closing email: taken into a follow-up incident, or flagged.

    reopened -> followed_up (followup_incident_id) | tagged -> flagged (the referent told on Slack)
    """

    __tablename__ = "reopened_tickets"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The incident whose closing email the customer answered (its outage_desk_closed_<id> tag).
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    reopened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(20))
    followup_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id",
                                                                        name="reopened_followup_fkey"))
    # Taken before the Slack message, cleared if Slack refuses it: a message is never sent twice.
    flag_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("reopened_by_incident", "incident_id", "state"),)
class AftercareRow(Base):
    """A requester or organisation an outage hurt: their new tickets are raised one level until `until`.

    Keyed by the Zendesk id: a second outage extends the mark, never shortens it.
    """

    __tablename__ = "aftercare"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # requester | organization
    zendesk_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))  # the latest outage that hurt them
    marked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    until: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("aftercare_until", "until"),)


class AftercareTicketRow(Base):
    """A new ticket from someone in aftercare: its raise, recorded `submitted` with the ticket's stamp before
    the write, `raised` once it landed, `kept` when it was already urgent. The sidebar's banner reads it."""

    __tablename__ = "aftercare_tickets"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(20))
    zendesk_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20))
    from_priority: Mapped[str | None] = mapped_column(String(20))
    to_priority: Mapped[str] = mapped_column(String(20))
    updated_stamp: Mapped[str] = mapped_column(String(40))
    until: Mapped[datetime] = mapped_column(UtcDateTime())
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)


class SlaAlertRow(Base):
    """The referents' Slack message about one ticket's SLA breach: Zendesk's escalation automation
    fires once per ticket, so one row per ticket; claimed while it is sent, then sent."""

    __tablename__ = "sla_alerts"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CommentRedactionRow(Base):
    """The redaction ledger: one row per customer comment found holding a secret, whatever happens to the process.

    Never the secret itself: the worker finds it again in the comment, which is the only copy kept.
    """

    __tablename__ = "comment_redactions"

    comment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigInteger)
    kinds: Mapped[str] = mapped_column(String(200))  # what was found, comma-separated ("stripe,password")
    # What stays visible of its keys, as the note quotes it ("sk_live_…abcd"): the guide's own advice to share.
    shown: Mapped[str] = mapped_column(Text)
    # planned -> redacted -> noting (the note may be in flight) -> done | retry (at retry_at) | given_up
    state: Mapped[str] = mapped_column(String(40))
    # The ticket's updated_at the note's safe update was sent with.
    updated_stamp: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)  # why given up, or the last failure
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("comment_redactions_state", "state", "retry_at"),)
