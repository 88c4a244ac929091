"""Zendesk's ticket write rules: create, update, comment, notify by email, solve a problem's incidents.

Every create and update runs the account's triggers (zendesk_sandbox.trigger_cycle) before it is saved.

Every function here expects the caller to hold `state.lock` for the whole operation.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zendesk_sandbox import placeholders, sla
from zendesk_sandbox.html_text import html_to_text
from zendesk_sandbox.conditions import TicketUpdate
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.trigger_cycle import WebhookCall, run_cycle
from zendesk_sandbox.timefmt import iso, parse_iso
from zendesk_sandbox.ticket_values import PRIORITIES, STATUSES, TICKET_TYPES

MAX_COMMENTS = 5000
_TRACKED_FIELDS = ("subject", "status", "priority", "type", "problem_id", "assignee_id", "group_id", "tags")
SUPPORT_ADDRESS = {"address": "support@outage-desk.zendesk.com", "name": "Support"}
SUPPORT_LINE = {"phone": "+33 1 84 88 00 00", "name": "Support line"}
CONFLICT_DESCRIPTION = (
    "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again."
)


class UpdateError(Exception):
    """A write Zendesk refuses; `code` is the job-result error, `field` the invalid attribute."""

    def __init__(self, code: str, field_name: str, details: str, http_status: int = 422):
        super().__init__(details)
        self.code = code
        self.field_name = field_name
        self.details = details
        self.http_status = http_status

    def body(self) -> dict:
        """The JSON body a single-ticket request gets."""
        if self.code == "UpdateConflict":
            return {"error": "UpdateConflict", "description": CONFLICT_DESCRIPTION}
        if self.code == "RecordNotFound":
            return {"error": "RecordNotFound", "description": "Not found"}
        return {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {self.field_name: [{"description": self.details, "error": self.code}]},
        }


@dataclass
class Outcome:
    """The stored ticket after a write, its audit, and the webhook calls its triggers made (ticket, call)."""

    ticket: dict
    audit: dict
    webhook_calls: list[tuple[dict, WebhookCall]] = field(default_factory=list)


def via(channel: str, rel: str | None = None, source_from: dict | None = None, source_to: dict | None = None) -> dict:
    """A ticket's `via` object."""
    return {"channel": channel, "source": {"from": source_from or {}, "to": source_to or {}, "rel": rel}}


def customer_via(channel: str, rel: str | None, requester: dict) -> dict:
    """The `via` of a ticket a customer opened over email, voice, chat, web or messaging."""
    if channel == "email":
        return via("email", None, {"address": requester["email"], "name": requester["name"]}, SUPPORT_ADDRESS)
    if channel == "voice":
        return via("voice", rel, {"phone": requester["phone"], "name": requester["name"]}, SUPPORT_LINE)
    return via(channel)


def text_to_html(text: str) -> str:
    """A plain-text comment as Zendesk's HTML body: one paragraph per blank-line block."""
    blocks = [html.escape(part).replace("\n", "<br>") for part in text.split("\n\n") if part.strip()]
    return '<div class="zd-comment" dir="auto">' + "".join(f"<p>{block}</p>" for block in blocks) + "</div>"


def normalize_tags(value: Any) -> list[str]:
    """Tags from a list or a space/comma separated string: lower-cased, de-duplicated, in order."""
    if not value:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(item) for item in value]
    tags: list[str] = []
    for item in items:
        for tag in item.lower().split():
            if tag not in tags:
                tags.append(tag)
    return tags


def check_stamp(ticket: dict, stamp: str, *, exact: bool) -> None:
    """Safe update: refuse if the ticket changed since `stamp` (exact: any difference at all).

    :raises UpdateError: UpdateConflict (409) or an unreadable stamp (RecordInvalid).
    """
    try:
        seen = parse_iso(stamp)
    except (TypeError, ValueError):
        raise UpdateError("RecordInvalid", "updated_stamp", f"updated_stamp: {stamp!r} is not a time") from None
    current = parse_iso(ticket["updated_at"])
    if (current != seen) if exact else (current > seen):
        raise UpdateError("UpdateConflict", "updated_stamp", CONFLICT_DESCRIPTION, 409)


def create_ticket(
    state: SandboxState,
    spec: dict,
    *,
    actor_id: int,
    now: datetime,
    via_: dict,
    created_at: str | None = None,
) -> Outcome:
    """Create a ticket from a Tickets API `ticket` object; its first comment becomes the description."""
    comment = _comment_spec(state, spec.get("comment"), actor_id)
    if comment is None and isinstance(spec.get("description"), str):
        # Zendesk takes a description in place of a missing comment: it becomes the first comment.
        comment = _comment_spec(state, {"body": spec["description"]}, actor_id)
    if comment is None:
        raise UpdateError("RecordInvalid", "description", "Description: cannot be blank")
    requester_id = _requester_id(state, spec, actor_id, created_at or iso(now))
    submitter_id = spec.get("submitter_id") or actor_id
    if state.user(submitter_id) is None:
        raise UpdateError("RecordInvalid", "submitter", "Submitter: is invalid")
    stamp = created_at or iso(now)
    ticket = {
        "id": state.next_id("ticket"),
        "subject": "",
        "raw_subject": "",
        "description": "",
        "status": "new",
        "priority": None,
        "type": None,
        "problem_id": None,
        "external_id": None,
        "requester_id": requester_id,
        "submitter_id": submitter_id,
        "assignee_id": None,
        "group_id": None,
        "organization_id": None,
        "tags": [],
        "custom_fields": [],
        "via": via_,
        "is_public": comment["public"],
        "created_at": stamp,
        "updated_at": stamp,
        "generated_timestamp": int(now.timestamp()),
    }
    _apply_fields(state, ticket, spec, strict=True, end_user_comment=False)
    _join_organization(state, ticket)
    update = TicketUpdate(before={}, after=ticket, update_type="Create", actor_id=actor_id, via=via_, comment=comment)
    calls = _run_triggers(state, update)
    audit = _audit(state, ticket, actor_id, stamp, via_)
    audit["events"] = [
        {"id": state.next_id("audit"), "type": "Create", "field_name": name, "value": ticket[name]}
        for name in ("subject", "status", "priority", "type", "requester_id", "assignee_id", "tags")
    ]
    state.insert_ticket(ticket, written_at=now)
    state.status_since[ticket["id"]] = stamp
    added = _add_comment(state, ticket, comment, actor_id=actor_id, created_at=stamp, audit=audit)
    ticket["description"] = added["body"]
    return Outcome(ticket, audit, [(ticket, call) for call in calls])


def update_ticket(
    state: SandboxState,
    ticket_id: Any,
    changes: dict,
    *,
    actor_id: int,
    now: datetime,
    stamp: str | None = None,
    stamp_exact: bool = True,
) -> Outcome:
    """Apply a Tickets API update to one ticket.

    :raises UpdateError: the ticket is missing, closed, changed since `stamp`, or the change is invalid.
    """
    current = state.ticket(ticket_id)
    if current is None:
        raise UpdateError("RecordNotFound", "id", f"Ticket {ticket_id} not found", 404)
    if stamp is not None:
        check_stamp(current, stamp, exact=stamp_exact)
    if current["status"] == "closed":
        raise UpdateError("ClosedTicket", "status", "Status: closed prevents ticket update")
    comment = _comment_spec(state, changes.get("comment"), actor_id)
    draft = copy.deepcopy(current)
    end_user_comment = comment is not None and not state.is_agent(comment["author_id"])
    _apply_fields(state, draft, changes, strict=True, end_user_comment=end_user_comment)
    return _commit(state, current, draft, comment, actor_id=actor_id, now=now)


def preview_update(state: SandboxState, ticket: dict, changes: dict, *, actor_id: int) -> dict:
    """The ticket as it would be after `changes` (comment rendered), leaving the stored ticket alone."""
    draft = copy.deepcopy(ticket)
    _apply_fields(state, draft, changes, strict=False, end_user_comment=False)
    comment = _comment_spec(state, changes.get("comment"), actor_id)
    if comment is not None:
        body, html_body = _render_comment(state, draft, comment, actor_id)
        draft["comment"] = {"body": body, "html_body": html_body, "public": comment["public"]}
    return draft


def field_values(ticket: dict) -> dict[int, Any]:
    """A ticket's custom field values by field id."""
    return {entry["id"]: entry.get("value") for entry in ticket.get("custom_fields") or ()}


def _set_field_value(ticket: dict, field_id: int, value: Any) -> None:
    for entry in ticket["custom_fields"]:
        if entry["id"] == field_id:
            entry["value"] = value
            return
    ticket["custom_fields"].append({"id": field_id, "value": value})


def _join_organization(state: SandboxState, ticket: dict) -> None:
    """A new ticket gets its requester's organization, and that organization's tags (user and
    organization tagging, which the sandbox always has on: see zendesk_sandbox.api_organizations)."""
    requester = state.user(ticket["requester_id"]) or {}
    organization = state.organizations.get(ticket["organization_id"] or requester.get("organization_id"))
    if organization is None:
        return
    ticket["organization_id"] = organization["id"]
    ticket["tags"] += [tag for tag in organization["tags"] if tag not in ticket["tags"]]


def _requester_id(state: SandboxState, spec: dict, actor_id: int, created_at: str) -> int:
    if spec.get("requester_id") is not None:
        if state.user(spec["requester_id"]) is None:
            raise UpdateError("RecordInvalid", "requester", "Requester: is invalid")
        return spec["requester_id"]
    requester = spec.get("requester")
    if isinstance(requester, dict) and requester.get("email"):
        known = state.user_by_email(requester["email"])
        if known:
            return known["id"]
        name = requester.get("name") or requester["email"].split("@")[0]
        return state.add_user(
            name, email=requester["email"], locale=requester.get("locale") or "en-US", created_at=created_at
        )["id"]
    return actor_id


def _apply_fields(state: SandboxState, draft: dict, changes: dict, *, strict: bool, end_user_comment: bool) -> None:
    """Apply the writable attributes of `changes` to `draft`, enforcing Zendesk's rules when strict."""
    before = {name: draft.get(name) for name in ("status", "priority", "assignee_id", "type")}

    def refuse(code: str, field_name: str, details: str) -> None:
        if strict:
            raise UpdateError(code, field_name, details)

    if any(key in changes for key in ("tags", "additional_tags", "remove_tags")):
        tags = normalize_tags(changes["tags"]) if "tags" in changes else list(draft["tags"])
        tags += [tag for tag in normalize_tags(changes.get("additional_tags")) if tag not in tags]
        removed = set(normalize_tags(changes.get("remove_tags")))
        draft["tags"] = [tag for tag in tags if tag not in removed]
        _sync_dropdowns_from_tags(state, draft)
    for entry in changes.get("custom_fields") or ():
        _apply_custom_field(state, draft, entry, refuse)
    if "subject" in changes:
        draft["subject"] = draft["raw_subject"] = str(changes["subject"] or "")
    if "external_id" in changes:
        # "An id you can use to link Zendesk Support tickets to local records" (Tickets API).
        draft["external_id"] = None if changes["external_id"] is None else str(changes["external_id"])
    if "type" in changes:
        if changes["type"] in (None, *TICKET_TYPES):
            draft["type"] = changes["type"]
        else:
            refuse("RecordInvalid", "type", f"Type: {changes['type']!r} is not a ticket type")
    if "priority" in changes:
        if changes["priority"] in PRIORITIES:
            draft["priority"] = changes["priority"]
        elif changes["priority"] in (None, "") and before["priority"] is not None:
            refuse("RecordInvalid", "priority", "Priority: cannot be removed once set")
        elif changes["priority"] not in (None, ""):
            refuse("RecordInvalid", "priority", f"Priority: {changes['priority']!r} is not a priority")
    if "assignee_id" in changes:
        if changes["assignee_id"] is None or state.is_agent(changes["assignee_id"]):
            draft["assignee_id"] = changes["assignee_id"]
        else:
            refuse("RecordInvalid", "assignee", "Assignee: is not an agent")
    if "group_id" in changes:
        draft["group_id"] = changes["group_id"]
    if "organization_id" in changes:
        # Writable in the Tickets API ("the organization of the requester",
        # https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/); organizations themselves are
        # not modelled here, so any id is taken.
        draft["organization_id"] = changes["organization_id"]
    _apply_problem_link(state, draft, changes, refuse)
    _apply_status(draft, changes, before, refuse, end_user_comment)


def _apply_problem_link(state: SandboxState, draft: dict, changes: dict, refuse) -> None:
    if changes.get("problem_id") is not None:
        problem = state.ticket(changes["problem_id"])
        if draft["type"] != "incident":
            refuse("RecordInvalid", "problem_id", "Problem: only incident tickets can be linked to a problem")
        elif problem is None or problem["type"] != "problem" or problem["id"] == draft["id"]:
            refuse("RecordInvalid", "problem_id", "Problem: is not a problem ticket")
        else:
            draft["problem_id"] = problem["id"]
    elif "problem_id" in changes or draft["type"] != "incident":
        # Changing an incident to another type unlinks it, as Zendesk does.
        draft["problem_id"] = None


def _apply_status(draft: dict, changes: dict, before: dict, refuse, end_user_comment: bool) -> None:
    wanted = changes.get("status")
    if wanted is not None:
        if wanted not in STATUSES:
            refuse("RecordInvalid", "status", f"Status: {wanted!r} is not a status")
        elif wanted == "new" and before["status"] != "new":
            refuse("RecordInvalid", "status", "Status: cannot be changed back to New")
        else:
            draft["status"] = wanted
    elif end_user_comment and draft["status"] in ("pending", "hold", "solved"):
        draft["status"] = "open"  # an end user's reply reopens the ticket
    if draft["status"] == "new" and draft["assignee_id"] is not None:
        draft["status"] = "open"  # assigning a new ticket opens it
    moved = draft["status"] != before["status"] or draft["assignee_id"] != before["assignee_id"]
    if draft["status"] in ("solved", "closed") and draft["assignee_id"] is None and moved:
        refuse("RecordInvalid", "status", "Status: Solved tickets need an assignee")


def _apply_custom_field(state: SandboxState, draft: dict, entry: Any, refuse) -> None:
    if not isinstance(entry, dict) or "id" not in entry:
        refuse("RecordInvalid", "custom_fields", f"Custom fields: {entry!r} needs an id and a value")
        return
    ticket_field = state.ticket_fields.get(entry["id"])
    if ticket_field is None:
        return  # Zendesk ignores ids that are not ticket fields
    value = entry.get("value")
    if ticket_field["type"] != "tagger":
        # Only drop-downs are modelled (option check, value kept in the tags); others store the value as sent.
        _set_field_value(draft, ticket_field["id"], value)
        return
    options = [option["value"] for option in ticket_field["custom_field_options"]]
    if value not in (None, "") and value not in options:
        refuse("RecordInvalid", "custom_fields", f"{ticket_field['title']}: {value!r} is not a valid option")
        return
    old = field_values(draft).get(ticket_field["id"])
    if (value or None) == old and (not value or value in draft["tags"]):
        return  # unchanged: keep the tags' order so nothing counts as a change
    # A drop-down's value lives in the ticket's tags as the option's tag.
    draft["tags"] = [tag for tag in draft["tags"] if tag != old]
    if value:
        draft["tags"].append(value)
    _set_field_value(draft, ticket_field["id"], value or None)


def _sync_dropdowns_from_tags(state: SandboxState, draft: dict) -> None:
    tags = set(draft["tags"])
    values = field_values(draft)
    for ticket_field in state.ticket_fields.values():
        if ticket_field["type"] != "tagger":
            continue
        current = values.get(ticket_field["id"])
        if current and current in tags:
            continue
        present = [option["value"] for option in ticket_field["custom_field_options"] if option["value"] in tags]
        if current or present:
            _set_field_value(draft, ticket_field["id"], present[0] if present else None)


def _comment_spec(state: SandboxState, comment: Any, actor_id: int) -> dict | None:
    if comment is None:
        return None
    if isinstance(comment, str):
        comment = {"body": comment}
    body, html_body = comment.get("body") or "", comment.get("html_body") or ""
    if not body.strip() and not html_body.strip():
        return None
    author_id = comment.get("author_id") or actor_id
    if state.user(author_id) is None:
        raise UpdateError("RecordInvalid", "comment", "Comment: author is invalid")
    public = comment.get("public", True)
    return {
        "body": body or html_to_text(html_body),
        "html_body": html_body,
        "public": public not in (False, "false"),
        "author_id": author_id,
    }


def _render_comment(state: SandboxState, ticket: dict, comment: dict, actor_id: int) -> tuple[str, str]:
    """Body and HTML body; placeholders render only in comments written by agents."""
    body, html_body = comment["body"], comment["html_body"]
    if state.is_agent(comment["author_id"]):
        people = {
            "requester": state.user(ticket["requester_id"]),
            "assignee": state.user(ticket["assignee_id"]),
            "current_user": state.user(actor_id),
        }
        body = placeholders.render(body, ticket=ticket, **people)
        html_body = placeholders.render(html_body, ticket=ticket, **people) if html_body else ""
    return body, html_body or text_to_html(body)


def _add_comment(
    state: SandboxState, ticket: dict, comment: dict, *, actor_id: int, created_at: str, audit: dict
) -> dict:
    """Store a comment, then email the requester if an agent wrote it publicly."""
    if len(state.comments.get(ticket["id"], ())) >= MAX_COMMENTS:
        raise UpdateError("RecordInvalid", "comment", f"Comment: a ticket can have at most {MAX_COMMENTS} comments")
    body, html_body = _render_comment(state, ticket, comment, actor_id)
    stored = {
        "id": state.next_id("comment"),
        "type": "Comment",
        "author_id": comment["author_id"],
        "body": body,
        "html_body": html_body,
        "plain_body": body,
        "public": comment["public"],
        "attachments": [],
        "audit_id": audit["id"],
        "via": audit["via"],
        "metadata": {},
        "created_at": created_at,
    }
    state.add_comment(ticket["id"], stored)
    sla.note_reply(state, ticket, stored)
    audit["events"].insert(0, {key: stored[key] for key in ("id", "type", "author_id", "body", "html_body", "public")})
    requester = state.user(ticket["requester_id"])
    if (
        stored["public"]
        and state.is_agent(stored["author_id"])
        and requester
        and requester.get("email")
        and requester["id"] != stored["author_id"]  # nobody is notified of their own comment
    ):
        state.send_email(
            {
                "ticket_id": ticket["id"],
                "to": requester["email"],
                "requester_id": requester["id"],
                "subject": f"[Ticket #{ticket['id']}] {ticket['subject']}",
                "body": body,
                "author_id": stored["author_id"],
                "comment_id": stored["id"],
                "sent_at": created_at,
            }
        )
    return stored


def _audit(state: SandboxState, ticket: dict, actor_id: int, created_at: str, via_: dict | None = None) -> dict:
    return {
        "id": state.next_id("audit"),
        "ticket_id": ticket["id"],
        "created_at": created_at,
        "author_id": actor_id,
        "metadata": {"system": {}, "custom": {}},
        "via": via_ or via("api"),
        "events": [],
    }


def _change_events(state: SandboxState, before: dict, after: dict) -> list[dict]:
    events = [
        {
            "id": state.next_id("audit"),
            "type": "Change",
            "field_name": name,
            "value": after.get(name),
            "previous_value": before.get(name),
        }
        for name in _TRACKED_FIELDS
        if before.get(name) != after.get(name)
    ]
    old_fields, new_fields = field_values(before), field_values(after)
    events += [
        {
            "id": state.next_id("audit"),
            "type": "Change",
            "field_name": str(field_id),
            "value": value,
            "previous_value": old_fields.get(field_id),
        }
        for field_id, value in new_fields.items()
        if old_fields.get(field_id) != value
    ]
    return events


def _run_triggers(state: SandboxState, update: TicketUpdate) -> list[WebhookCall]:
    """Run the trigger cycle on the ticket being saved; trigger actions follow the rules leniently, like Zendesk's."""
    draft = update.after
    return run_cycle(
        state, update, lambda changes: _apply_fields(state, draft, changes, strict=False, end_user_comment=False)
    )


def _differs(before: dict, after: dict) -> bool:
    return any(before.get(name) != after.get(name) for name in _TRACKED_FIELDS) or field_values(
        before
    ) != field_values(after)


def _commit(
    state: SandboxState, current: dict, draft: dict, comment: dict | None, *, actor_id: int, now: datetime
) -> Outcome:
    stamp = iso(now)
    audit = _audit(state, current, actor_id, stamp)
    calls: list[WebhookCall] = []
    if comment is not None or _differs(current, draft):
        # An update that changes nothing saves nothing, so no trigger runs on it.
        update = TicketUpdate(
            before=current, after=draft, update_type="Change", actor_id=actor_id, via=audit["via"], comment=comment
        )
        calls = _run_triggers(state, update)
    audit["events"] = _change_events(state, current, draft)
    if audit["events"] or comment is not None:
        # updated_at moves only when the update creates a ticket event.
        draft["updated_at"] = stamp
        draft["generated_timestamp"] = int(now.timestamp())
    if comment is not None:
        _add_comment(state, draft, comment, actor_id=actor_id, created_at=stamp, audit=audit)
    if draft["status"] != current["status"]:
        state.status_since[current["id"]] = stamp
    if draft["problem_id"] != current["problem_id"]:
        state.relink_incident(current["id"], current["problem_id"], draft["problem_id"])
    state.note_update(current, now)
    was = current["status"]
    current.clear()
    current.update(draft)  # keep the stored dict's identity: indexes hold it
    outcome = Outcome(current, audit, [(current, call) for call in calls])
    if current["status"] == "solved" and was not in ("solved", "closed") and current["type"] == "problem":
        outcome.webhook_calls += _solve_incidents(state, current, comment, actor_id=actor_id, now=now)
    return outcome


def _solve_incidents(
    state: SandboxState, problem: dict, comment: dict | None, *, actor_id: int, now: datetime
) -> list[tuple[dict, WebhookCall]]:
    """Solving a problem solves its open incidents, each getting a copy of the solving comment; triggers run."""
    calls: list[tuple[dict, WebhookCall]] = []
    for incident_id in sorted(state.incidents.get(problem["id"], ())):
        incident = state.tickets[incident_id]
        if incident["status"] in ("solved", "closed"):
            continue
        draft = copy.deepcopy(incident)
        draft["status"] = "solved"  # a system change: the assignee rule does not apply
        calls += _commit(state, incident, draft, comment and dict(comment), actor_id=actor_id, now=now).webhook_calls
    return calls


def merge_tickets(
    state: SandboxState,
    target_id: int,
    source_ids: list[int],
    *,
    target_comment: str | None,
    source_comment: str | None,
    target_public: bool,
    source_public: bool,
    actor_id: int,
    now: datetime,
) -> list[tuple[dict, WebhookCall]]:
    """Merge the sources into the target: each source gets its comment and is closed, the target gets its comment.

    Nothing is written unless every ticket exists and none is closed ("Closed tickets cannot be merged", Merging
    tickets). Returns the webhook calls the updates' triggers made.

    :raises UpdateError: RecordNotFound, or ClosedTicket naming the closed ticket.
    """
    tickets = [state.ticket(ticket_id) for ticket_id in (target_id, *source_ids)]
    for ticket_id, ticket in zip((target_id, *source_ids), tickets):
        if ticket is None:
            raise UpdateError("RecordNotFound", "id", f"Ticket {ticket_id} not found", 404)
        if ticket["status"] == "closed":
            raise UpdateError("ClosedTicket", "status", f"Ticket {ticket_id} is closed and cannot be merged")
    calls: list[tuple[dict, WebhookCall]] = []
    for source in tickets[1:]:
        draft = copy.deepcopy(source)
        draft["status"] = "closed"  # a system change: the assignee rule does not apply
        comment = _comment_spec(state, source_comment and {"body": source_comment, "public": source_public},
                                actor_id)
        calls += _commit(state, source, draft, comment, actor_id=actor_id, now=now).webhook_calls
    target = tickets[0]
    comment = _comment_spec(state, target_comment and {"body": target_comment, "public": target_public}, actor_id)
    if comment is not None:
        calls += _commit(state, target, copy.deepcopy(target), comment, actor_id=actor_id, now=now).webhook_calls
    return calls
