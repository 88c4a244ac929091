"""One ticket per problem: a customer's later tickets about a declared outage are merged into their first.

Only tickets written once the outage is declared are merged away (into the customer's oldest ticket of the
incident, whenever written): those from before were worked one by one by agents who did not know of the outage.

A customer who emails and then calls about the same outage has two tickets in the incident; Zendesk's merge
(Merge Tickets into Target Ticket) closes the later one with a note and notes the merge on the first, which alone
gets the closing email. Zendesk already resolves a caller to the user whose identity holds the phone number, so
tickets match by requester id: what Zendesk's data shows, no guessing from names.

The notes are private. The customer already had their acknowledgement on each ticket and gets exactly one closing
email on the first; a public note would be one more email in the middle of the outage, about our bookkeeping, and a
caller's ticket often has no email address to read it at.

Exactly once: each merge is recorded `submitted` before it is sent and never sent blindly again. A submitted merge
whose answer was lost is settled by re-reading its source: closed with our note naming the target, it landed;
otherwise the job tells why not, or it is planned again. Zendesk refuses to merge a closed ticket, so even a second
send could not close a source twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.errors import ZendeskError
from app.incident.model import State
from app.incident.resolve import affected_now
from app.store.tables import AffectedTicketRow, IncidentRow, MergeRow
from app.store.writes import upsert_insert
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import Ticket

log = logging.getLogger(__name__)

SOURCE_NOTE = ("Merged by Outage Desk into #{target}: the same customer's earlier ticket about the outage "
               "\"{title}\". They get the closing email there, not here.")
TARGET_NOTE = ("Outage Desk merged {sources} into this ticket: the same customer wrote again about the outage "
               "\"{title}\". This ticket alone gets the closing email.")
# How long a pass waits for Zendesk's merge job before leaving it to the next pass's re-read.
JOB_POLLS, JOB_POLL_SECONDS = 20, 0.25
# The affected ticket's take-in state once merged away: the closing ledger plans nothing for it.
MERGED = "merged"


def written_during(incident: IncidentRow, ticket: Ticket) -> bool:
    """Whether the customer wrote this ticket once the outage was declared. Tickets from before were each worked
    by agents who did not know of the outage yet, with their own replies: the declaration links them all to the
    problem, and merging them away under an agent's feet would lose that thread. A ticket written after is the
    customer asking again about what the desk already acknowledged."""
    created = datetime.fromisoformat(ticket.created_at.replace("Z", "+00:00"))
    return incident.declared_at is not None and created >= incident.declared_at.replace(microsecond=0)


def source_note(target_id: int, title: str) -> str:
    return SOURCE_NOTE.format(target=target_id, title=title)


@dataclass
class MergeReport:
    merged: dict[int, int] = field(default_factory=dict)  # source ticket -> target ticket
    skipped: dict[int, str] = field(default_factory=dict)  # source ticket -> why it was not merged
    pending: int = 0  # sent, the job not finished yet: the next pass re-reads


class Duplicates:
    """The merge ledger of the declared incidents: plan, send, settle after a crash."""

    def __init__(self, sessions: sessionmaker[Session], gateway: ZendeskGateway, clock: Clock):
        self.sessions = sessions
        self.gateway = gateway
        self.clock = clock
        # The taken-in tickets each incident was last planned with: a pass with no new one reads no ticket.
        # Kept in memory only, as a saving: a restarted worker plans once more, and finds what it recorded.
        self._planned_with: dict[int, frozenset[int]] = {}

    def run(self) -> MergeReport:
        """One pass over every declared incident whose backfill is done; returns what it settled."""
        report = MergeReport()
        with self.sessions() as session:
            incidents = list(session.scalars(select(IncidentRow).where(
                IncidentRow.state == State.DECLARED, IncidentRow.backfilled_at.is_not(None))))
        for incident in incidents:
            self._settle(incident, self._rows(incident, "submitted"), report)
            self._plan(incident, report)
            self._send(incident, report)
        return report

    # -- planning --------------------------------------------------------------------

    def _plan(self, incident: IncidentRow, report: MergeReport) -> None:
        """Record a merge for each customer's later tickets into their oldest one; a closed target skips them."""
        with self.sessions() as session:
            taken = list(session.scalars(select(AffectedTicketRow.ticket_id).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.state == "taken")))
            known = set(session.scalars(select(MergeRow.source_ticket_id).where(MergeRow.incident_id == incident.id)))
        if len(taken) < 2 or self._planned_with.get(incident.id) == frozenset(taken):
            return
        by_requester: dict[int, list[Ticket]] = defaultdict(list)
        for ticket in affected_now(self.gateway, incident, taken):
            if ticket.requester_id is not None:
                by_requester[ticket.requester_id].append(ticket)
        now = self.clock.now()
        rows = []
        for requester_id, tickets in by_requester.items():
            if len(tickets) < 2:
                continue
            target, *sources = sorted(tickets, key=lambda t: (t.created_at, t.id))
            for source in sources:
                if source.id in known or not written_during(incident, source):
                    continue
                state, detail = "planned", None
                if target.status == "closed":
                    state, detail = "skipped", f"target #{target.id} is closed: Zendesk merges no closed ticket"
                    report.skipped[source.id] = detail
                elif source.status == "closed":
                    state, detail = "skipped", "closed: Zendesk merges no closed ticket"
                    report.skipped[source.id] = detail
                rows.append({"incident_id": incident.id, "source_ticket_id": source.id, "target_ticket_id": target.id,
                             "requester_id": requester_id, "state": state, "detail": detail, "updated_at": now})
        if rows:
            with self.sessions() as session:
                session.execute(upsert_insert(session, MergeRow).on_conflict_do_nothing(), rows)
                session.commit()
            for row in rows:
                if row["state"] == "skipped":
                    log.warning("merge.skipped", extra={"incident": incident.id, "ticket": row["source_ticket_id"],
                                                        "reason": row["detail"]})
        self._planned_with[incident.id] = frozenset(taken)

    # -- sending ---------------------------------------------------------------------

    def _send(self, incident: IncidentRow, report: MergeReport) -> None:
        by_target: dict[int, list[int]] = defaultdict(list)
        for row in self._rows(incident, "planned"):
            by_target[row.target_ticket_id].append(row.source_ticket_id)
        for target_id, sources in sorted(by_target.items()):
            with self.sessions() as session:
                # Recorded before the merge, and only while the incident is declared: a resolve that has begun
                # may be writing the closing email to these very tickets.
                claimed = session.execute(update(MergeRow).where(
                    MergeRow.incident_id == incident.id, MergeRow.source_ticket_id.in_(sources),
                    MergeRow.state == "planned",
                    select(IncidentRow.id).where(IncidentRow.id == incident.id,
                                                 IncidentRow.state == State.DECLARED).exists())
                    .values(state="submitted", updated_at=self.clock.now())).rowcount
                session.commit()
            if claimed != len(sources):
                continue  # another process took them, or the incident is resolving: leave them be
            try:
                job_id = self.gateway.merge_tickets(
                    target_id, sorted(sources), TARGET_NOTE.format(sources=", ".join(f"#{s}" for s in sorted(sources)),
                                                                   title=incident.title),
                    source_note(target_id, incident.title))
            except ZendeskError as error:
                # No job, or an answer lost: the re-read decides, never a blind second send.
                self._record(incident, sources, "submitted", str(error))
                report.pending += len(sources)
                continue
            self._record(incident, sources, "submitted", None, job_id=job_id)
            self._settle(incident, self._rows(incident, "submitted", sources), report, wait=True)

    # -- settling --------------------------------------------------------------------

    def _settle(self, incident: IncidentRow, rows: list[MergeRow], report: MergeReport, wait: bool = False) -> None:
        """The merges' outcome: the job's results when it has them, else what the source ticket shows."""
        jobs: dict[str, dict] = {}
        for job_id in {row.job_id for row in rows if row.job_id}:
            jobs[job_id] = self._job(job_id, wait)
        for row in rows:
            job = jobs.get(row.job_id or "")
            if job is not None and job["status"] == "completed":
                result = (job["results"] or [{}])[0]
                if result.get("success"):
                    self._merged(incident, row, report)
                else:
                    # Refused: perhaps because an earlier send of this very merge closed the source already.
                    reason = f"{result.get('error', 'failed')}: {result.get('details', '')}".strip(": ")
                    self._reread(incident, row, report, refused=reason)
            elif job is not None and job["status"] in ("queued", "working"):
                report.pending += 1
            else:
                self._reread(incident, row, report)

    def _job(self, job_id: str, wait: bool) -> dict | None:
        for _poll in range(JOB_POLLS if wait else 1):
            try:
                job = self.gateway.job_status(job_id)
            except (ZendeskError, IndexError):
                return None  # gone (Zendesk keeps job statuses for a while only): the ticket tells
            if job["status"] not in ("queued", "working") or not wait:
                return job
            self.clock.sleep(JOB_POLL_SECONDS)
        return job

    def _reread(self, incident: IncidentRow, row: MergeRow, report: MergeReport, refused: str | None = None) -> None:
        """The source closed with our note: it landed. Closed without it, or Zendesk `refused` it: skipped with why.
        Else it is planned again (its job is gone, or its answer was lost before Zendesk queued it)."""
        found = {t.id: t for t in self.gateway.tickets([row.source_ticket_id, row.target_ticket_id])}
        source, target = found.get(row.source_ticket_id), found.get(row.target_ticket_id)
        if source is not None and source.status == "closed":
            note = source_note(row.target_ticket_id, incident.title)
            if any(note in body for body in self.gateway.comment_bodies(source.id)):
                self._merged(incident, row, report)
            else:
                self._skipped(incident, row, "closed: Zendesk merges no closed ticket", report)
        elif refused is not None:
            self._skipped(incident, row, refused, report)
        elif source is None or target is None:
            self._skipped(incident, row, "deleted: Zendesk has no such ticket any more", report)
        elif target.status == "closed":
            self._skipped(incident, row, f"target #{target.id} is closed: Zendesk merges no closed ticket", report)
        else:
            self._record(incident, [row.source_ticket_id], "planned", row.detail)

    def _merged(self, incident: IncidentRow, row: MergeRow, report: MergeReport) -> None:
        self._record(incident, [row.source_ticket_id], "merged", None)
        with self.sessions() as session:
            # The closing ledger plans nothing for a merged ticket: the customer hears once, on the target.
            session.execute(update(AffectedTicketRow).where(
                AffectedTicketRow.incident_id == incident.id, AffectedTicketRow.ticket_id == row.source_ticket_id)
                .values(state=MERGED, detail=f"merged into #{row.target_ticket_id}", retry_at=None))
            session.commit()
        report.merged[row.source_ticket_id] = row.target_ticket_id
        log.info("merge.done", extra={"incident": incident.id, "ticket": row.source_ticket_id,
                                      "target": row.target_ticket_id})

    def _skipped(self, incident: IncidentRow, row: MergeRow, reason: str, report: MergeReport) -> None:
        self._record(incident, [row.source_ticket_id], "skipped", reason)
        report.skipped[row.source_ticket_id] = reason
        log.warning("merge.skipped", extra={"incident": incident.id, "ticket": row.source_ticket_id,
                                            "reason": reason})

    # -- the ledger ------------------------------------------------------------------

    def _rows(self, incident: IncidentRow, state: str, sources: list[int] | None = None) -> list[MergeRow]:
        query = select(MergeRow).where(MergeRow.incident_id == incident.id, MergeRow.state == state)
        if sources is not None:
            query = query.where(MergeRow.source_ticket_id.in_(sources))
        with self.sessions() as session:
            return list(session.scalars(query.order_by(MergeRow.source_ticket_id)))

    def _record(self, incident: IncidentRow, sources: list[int], state: str, detail: str | None,
                job_id: str | None = None) -> None:
        values: dict = {"state": state, "detail": detail[:500] if detail else None, "updated_at": self.clock.now()}
        if job_id is not None:
            values["job_id"] = job_id
        with self.sessions() as session:
            session.execute(update(MergeRow).where(MergeRow.incident_id == incident.id,
                                                   MergeRow.source_ticket_id.in_(sources)).values(**values))
            session.commit()

    def merges(self, incident_id: int) -> list[MergeRow]:
        """The incident's merge ledger, for the report and the CLI."""
        with self.sessions() as session:
            return list(session.scalars(select(MergeRow).where(MergeRow.incident_id == incident_id)
                                        .order_by(MergeRow.source_ticket_id)))
