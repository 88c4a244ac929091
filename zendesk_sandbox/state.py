"""Everything the sandbox knows, in memory, behind one lock."""

from __future__ import annotations

import bisect
import copy
import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from zendesk_sandbox.timefmt import iso

API_USER_ID = 1
API_USER_NAME = "Outage Desk API"
AGENT_ROLES = ("agent", "admin")
# Disjoint id ranges, so an id used as the wrong kind of record is a 404, not a silent hit.
FIRST_IDS = {
    "user": 100001,
    "ticket": 10001,
    "comment": 5000001,
    "audit": 7000001,
    "ticket_field": 81001,
    "field_option": 82001,
    "macro": 360001,
    "trigger": 460001,
    "trigger_category": 480001,
    "organization": 560001,
    "organization_field": 570001,
    "sla_policy": 580001,
    "automation": 590001,
}


@dataclass
class Job:
    """A queued update_many job; `as_json` is what job_statuses returns."""

    id: str
    url: str
    job_type: str
    total: int
    queued_at: datetime
    items: list[dict] = field(repr=False)
    status: str = "queued"
    progress: int = 0
    message: str | None = None
    results: list[dict] | None = None

    def as_json(self) -> dict:
        """The job_status object."""
        return {
            "id": self.id,
            "url": self.url,
            "job_type": self.job_type,
            "total": self.total,
            "progress": self.progress,
            "status": self.status,
            "message": self.message,
            "results": self.results,
        }


class SandboxState:
    """Users, tickets, comments, fields, business rules, jobs, sent emails and the API call log.

    `webhooks` are the Webhooks API's records (by string id); `deliveries` the invocations triggers
    made of them. Hold `lock` around any read-modify-write; it is re-entrant.
    """

    def __init__(self, api_email: str = "outage-desk-api@example.com"):
        self.lock = threading.RLock()
        self.users: dict[int, dict] = {}
        self.tickets: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}
        self.ticket_fields: dict[int, dict] = {}
        self.macros: dict[int, dict] = {}
        self.triggers: dict[int, dict] = {}
        self.trigger_categories: dict[int, dict] = {}
        self.webhooks: dict[str, dict] = {}
        self.organizations: dict[int, dict] = {}
        self.organization_fields: dict[int, dict] = {}
        self.sla_policies: dict[int, dict] = {}
        self.automations: dict[int, dict] = {}
        # What SLAs and automations read that a ticket does not show: when its status last changed,
        # and its first public agent reply ({"at", "policy_id", "priority"}: the policy then in force).
        self.status_since: dict[int, str] = {}
        self.first_reply: dict[int, dict] = {}
        self.jobs: dict[str, Job] = {}
        self.emails: list[dict] = []
        self.calls: list[dict] = []
        # Job items failed on purpose (zendesk_sandbox.faults); request faults are in the call log.
        self.failed_items = 0
        self.deliveries: list[dict] = []
        # problem id -> linked incident ids, so has_incidents and the solve cascade are O(1).
        self.incidents: dict[int, set[int]] = {}
        # Ticket writes search has not caught up with: (written at, the ticket before it; None = created).
        self.index_lag: dict[int, list[tuple[datetime, dict | None]]] = {}
        self._created_order: list[tuple[str, int]] = []
        self._by_email: dict[str, int] = {}
        self._by_phone: dict[str, int] = {}
        self._counters = {kind: itertools.count(start) for kind, start in FIRST_IDS.items()}
        # The account's time zone: Zendesk's display name and its IANA name (Account Settings' localization).
        self.time_zone: tuple[str, str] = ("UTC", "Etc/UTC")
        self.users[API_USER_ID] = {
            "id": API_USER_ID,
            "name": API_USER_NAME,
            "email": api_email.lower(),
            "phone": None,
            "locale": "en-US",
            "role": "admin",
            "created_at": "2020-01-01T00:00:00Z",
        }
        self._by_email[api_email.lower()] = API_USER_ID

    def next_id(self, kind: str) -> int:
        """Allocate the next id of a kind (user, ticket, comment, audit, ...)."""
        with self.lock:
            return next(self._counters[kind])

    # Users

    def set_api_email(self, email: str) -> None:
        """Give the API admin user (id 1) the email the app authenticates with."""
        with self.lock:
            user = self.users[API_USER_ID]
            self._by_email.pop(user["email"], None)
            user["email"] = email.lower()
            self._by_email[user["email"]] = API_USER_ID

    def add_user(
        self,
        name: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        locale: str = "en-US",
        role: str = "end-user",
        created_at: str | None = None,
        tags: tuple[str, ...] = (),
        organization_id: int | None = None,
    ) -> dict:
        """Create a user and index it by email and phone."""
        with self.lock:
            user = {
                "id": self.next_id("user"),
                "name": name,
                "email": email.lower() if email else None,
                "phone": phone,
                "locale": locale,
                "role": role,
                "tags": list(tags),
                "organization_id": organization_id,
                "created_at": created_at or _now(),
            }
            self.users[user["id"]] = user
            if user["email"]:
                self._by_email[user["email"]] = user["id"]
            if phone:
                self._by_phone[phone] = user["id"]
            return user

    def user(self, user_id: Any) -> dict | None:
        """The user with this id, or None."""
        return self.users.get(user_id) if isinstance(user_id, int) else None

    def user_by_email(self, email: str) -> dict | None:
        """The user with this email (case-insensitive), or None."""
        with self.lock:
            user_id = self._by_email.get(email.lower())
            return self.users.get(user_id) if user_id else None

    def user_by_phone(self, phone: str) -> dict | None:
        """The user with this phone number, or None."""
        with self.lock:
            user_id = self._by_phone.get(phone)
            return self.users.get(user_id) if user_id else None

    def is_agent(self, user_id: Any) -> bool:
        """Whether the user exists and is an agent or admin."""
        user = self.user(user_id)
        return bool(user and user["role"] in AGENT_ROLES)

    # Tickets

    def insert_ticket(self, ticket: dict, *, written_at: datetime) -> None:
        """Store a new ticket (built by zendesk_sandbox.tickets) and order it by creation time."""
        with self.lock:
            self.tickets[ticket["id"]] = ticket
            self.comments.setdefault(ticket["id"], [])
            self.index_lag[ticket["id"]] = [(written_at, None)]
            bisect.insort(self._created_order, (ticket["created_at"], ticket["id"]))
            if ticket.get("problem_id"):
                self.incidents.setdefault(ticket["problem_id"], set()).add(ticket["id"])

    def note_update(self, ticket: dict, written_at: datetime) -> None:
        """Remember the ticket as it was before a write at `written_at`, for search to show until it catches up."""
        with self.lock:
            self.index_lag.setdefault(ticket["id"], []).append((written_at, copy.deepcopy(ticket)))

    def indexed_ticket(self, ticket_id: int, horizon: datetime) -> dict | None:
        """The ticket as search indexed it from writes up to `horizon`: None if created after it."""
        with self.lock:
            pending = self.index_lag.get(ticket_id)
            while pending and pending[0][0] <= horizon:
                pending.pop(0)  # indexed now, and the horizon only moves forward
            if not pending:
                self.index_lag.pop(ticket_id, None)
                return self.tickets[ticket_id]
            return pending[0][1]

    def ticket(self, ticket_id: Any) -> dict | None:
        """The stored ticket with this id, or None."""
        return self.tickets.get(ticket_id) if isinstance(ticket_id, int) else None

    def created_order(self) -> list[tuple[str, int]]:
        """(created_at, id) of every ticket, sorted; the live list, so hold the lock while reading."""
        return self._created_order

    def delete_ticket(self, ticket_id: int) -> None:
        """Forget a ticket, its comments and its place in every index (a problem's incidents are unlinked)."""
        with self.lock:
            ticket = self.tickets.pop(ticket_id)
            self.comments.pop(ticket_id, None)
            self.index_lag.pop(ticket_id, None)
            self._created_order.remove((ticket["created_at"], ticket_id))
            self.relink_incident(ticket_id, ticket.get("problem_id"), None)
            for incident_id in self.incidents.pop(ticket_id, ()):
                self.tickets[incident_id]["problem_id"] = None

    def relink_incident(self, incident_id: int, old_problem: int | None, new_problem: int | None) -> None:
        """Move an incident from one problem's incident set to another's."""
        with self.lock:
            if old_problem:
                self.incidents.get(old_problem, set()).discard(incident_id)
            if new_problem:
                self.incidents.setdefault(new_problem, set()).add(incident_id)

    def add_comment(self, ticket_id: int, comment: dict) -> None:
        """Append a comment to a ticket's conversation."""
        with self.lock:
            self.comments.setdefault(ticket_id, []).append(comment)

    def comments_for(self, ticket_id: int) -> list[dict]:
        """A copy of a ticket's comments, oldest first."""
        with self.lock:
            return list(self.comments.get(ticket_id, []))

    # Configuration records

    def add_ticket_field(
        self,
        title: str,
        options: list[tuple[str, str]] | None,
        *,
        field_type: str = "tagger",
        description: str | None = None,
        created_at: str | None = None,
    ) -> dict:
        """Create a custom ticket field; drop-downs get (name, value) options, other types pass None."""
        with self.lock:
            field_id = self.next_id("ticket_field")
            created_at = created_at or _now()
            # Zendesk fills the description and the portal title from the title when they are not given.
            description = title if description is None else description
            ticket_field = {
                "id": field_id,
                "type": field_type,
                "title": title,
                "raw_title": title,
                "description": description,
                "raw_description": description,
                "position": len(self.ticket_fields) + 1,
                "active": True,
                "required": False,
                "collapsed_for_agents": False,
                "regexp_for_validation": None,
                "title_in_portal": title,
                "raw_title_in_portal": title,
                "visible_in_portal": False,
                "editable_in_portal": False,
                "required_in_portal": False,
                "tag": None,
                "created_at": created_at,
                "updated_at": created_at,
                "removable": True,
                "key": None,
                "agent_description": None,
            }
            if options is not None:
                ticket_field["custom_field_options"] = [self.new_field_option(name, value) for name, value in options]
            self.ticket_fields[field_id] = ticket_field
            return ticket_field

    def new_field_option(self, name: str, value: str) -> dict:
        """A drop-down option with a fresh id (not yet attached to a field)."""
        return {"id": self.next_id("field_option"), "name": name, "raw_name": name, "value": value, "default": False}

    def add_macro(
        self,
        title: str,
        actions: list[dict],
        *,
        description: str | None = None,
        active: bool = True,
        created_at: str | None = None,
    ) -> dict:
        """Create a shared macro."""
        created_at = created_at or _now()
        with self.lock:
            macro_id = self.next_id("macro")
            macro = {
                "id": macro_id,
                "title": title,
                "raw_title": title,
                "active": active,
                "actions": actions,
                "description": description,
                "position": len(self.macros) + 1,
                "restriction": None,
                "default": False,
                "created_at": created_at,
                "updated_at": created_at,
            }
            self.macros[macro_id] = macro
            return macro

    # Outbox and call log

    def send_email(self, record: dict) -> None:
        """Record an email Zendesk would have sent."""
        with self.lock:
            self.emails.append(record)

    def emails_for(self, ticket_id: int) -> list[dict]:
        """Emails sent about one ticket, oldest first."""
        with self.lock:
            return [email for email in self.emails if email["ticket_id"] == ticket_id]

    def record_call(self, record: dict) -> None:
        """Log one /api/v2 request (rate-limited ones included, flagged)."""
        with self.lock:
            self.calls.append(record)

    def stats(self) -> dict:
        """API call counts by endpoint, rate-limited count, injected faults by kind and emails sent."""
        with self.lock:
            return {
                "api_calls": len(self.calls),
                "by_endpoint": dict(Counter(call["endpoint"] for call in self.calls)),
                "rate_limited": sum(1 for call in self.calls if call["rate_limited"]),
                "faults": dict(
                    Counter(call["fault"] for call in self.calls if call.get("fault")),
                    **({"item_failure": self.failed_items} if self.failed_items else {}),
                ),
                "emails": len(self.emails),
            }

    def reset_stats(self) -> None:
        """Forget the call log and the failed-item count (emails stay)."""
        with self.lock:
            self.calls.clear()
            self.failed_items = 0


def _now() -> str:
    return iso(datetime.now(timezone.utc))
