"""Automations: the Automations API's records, and the hourly cycle that runs them.

Sources: developer.zendesk.com/api-reference/ticketing/business-rules/automations/ (title, active,
position, conditions all/any, actions; "Automations must have at least one time-based condition" and
"must contain an action that nullifies at least one of the conditions": a status change, or a tag added
that a `current_tags not_includes` condition tests; automations do not run on closed tickets), the
Conditions reference's automation fields ("NEW", "OPEN", "PENDING", "SOLVED", "HOLD": hours since the
ticket got that status; "sla_next_breach_at": hours since last SLA breach, "until_sla_next_breach_at":
hours until the next), the Actions reference (automations take notification_webhook like triggers),
and support.zendesk.com/hc/en-us/articles/4408832701850 ("About automations": they run once an hour on
every ticket that is not closed, in order, each firing at most once per ticket per run; their updates
run the triggers).

Zendesk runs the cycle hourly; here POST /_sandbox/automations/run runs it now. Hours are measured as
fractions (Zendesk counts whole hours), so "greater_than 0" holds from the breach itself, where Zendesk
would see it at its first hourly run after that. Every function here expects the caller to hold `state.lock`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zendesk_sandbox import rules, sla
from zendesk_sandbox.conditions import TicketUpdate, condition_holds
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.ticket_values import STATUSES
from zendesk_sandbox.timefmt import parse_iso
from zendesk_sandbox.trigger_cycle import check_runnable
from zendesk_sandbox.validation import Problems

STATUS_HOURS = {"NEW": "new", "OPEN": "open", "PENDING": "pending", "HOLD": "hold", "SOLVED": "solved"}
SLA_HOURS = ("sla_next_breach_at", "until_sla_next_breach_at")
TIME_OPERATORS = ("is", "less_than", "greater_than")


def is_time_based(field: str) -> bool:
    return field in STATUS_HOURS or field in SLA_HOURS


def create_automation(state: SandboxState, spec: dict, *, now: str) -> dict:
    """A new automation, placed last unless a position is given. :raises ApiError: 422 listing every problem."""
    automation = {key: spec.get(key) for key in ("title", "actions", "conditions", "position")}
    automation["active"] = spec.get("active", True)
    _check(state, automation)
    if automation["position"] is None:
        automation["position"] = max((a["position"] for a in state.automations.values()), default=0) + 1
    record = _record(state.next_id("automation"), automation, created_at=now, updated_at=now)
    state.automations[record["id"]] = record
    return record


def update_automation(state: SandboxState, stored: dict, spec: dict, *, now: str) -> dict:
    automation = {key: spec.get(key, stored[key]) for key in ("title", "actions", "conditions", "position", "active")}
    _check(state, automation)
    record = _record(stored["id"], automation, created_at=stored["created_at"], updated_at=now)
    state.automations[record["id"]] = record
    return record


def firing_order(automation: dict) -> tuple:
    return automation["position"], automation["id"]


def holds(state: SandboxState, automation: dict, ticket: dict, now: datetime) -> bool:
    """Every `all` condition and, if there are any, one `any` condition hold for the ticket now."""
    still = TicketUpdate(before=ticket, after=ticket, update_type="Change", actor_id=0, via={}, comment=None)

    def one(row: dict) -> bool:
        if is_time_based(row["field"]):
            return _time_holds(state, row, ticket, now)
        return condition_holds(state, row, still)
    conditions = automation["conditions"]
    rows_any = conditions.get("any") or []
    return all(one(r) for r in conditions.get("all") or []) and (not rows_any or any(one(r) for r in rows_any))


def _time_holds(state: SandboxState, row: dict, ticket: dict, now: datetime) -> bool:
    field, operator, wanted = row["field"], row["operator"], float(row["value"])
    if field in STATUS_HOURS:
        if ticket["status"] != STATUS_HOURS[field]:
            return False
        since = parse_iso(state.status_since.get(ticket["id"], ticket["created_at"]))
        hours = (now - since).total_seconds() / 3600
    else:
        breached = sla.breach_at(state, ticket, now)
        if field == "until_sla_next_breach_at" or breached is None:
            return False  # the sandbox only knows breaches that happened (see sla)
        hours = (now - breached).total_seconds() / 3600
    if operator == "is":
        return int(hours) == int(wanted)
    return hours < wanted if operator == "less_than" else hours > wanted


def _check(state: SandboxState, automation: dict) -> None:
    problems = Problems()
    title = automation["title"]
    if not isinstance(title, str) or not title.strip():
        problems.add("title", "Title: cannot be blank", "BlankValue")
    conditions = automation["conditions"] if isinstance(automation["conditions"], dict) else {}
    rows = [r for group in ("all", "any") for r in conditions.get(group) or () if isinstance(r, dict)]
    timed = [r for r in rows if is_time_based(str(r.get("field")))]
    for row in timed:
        if row.get("operator") not in TIME_OPERATORS or not str(row.get("value", "")).lstrip("-").isdigit():
            problems.add("conditions", f"Conditions: {row!r} needs is, less_than or greater_than and whole hours")
    rules.check_conditions(state, {"all": [r for r in rows if r not in timed]}, problems)
    if not timed:
        problems.add("conditions", "Conditions: an automation needs at least one time-based condition")
    rules.check_actions(state, automation["actions"], rules.TRIGGER_ACTIONS, problems)
    check_runnable({"conditions": {"all": [r for r in rows if r not in timed]}, "actions": automation["actions"]},
                   problems)
    if isinstance(automation["actions"], list) and not _nullifies(rows, automation["actions"]):
        problems.add("actions", "Actions: an automation must nullify one of its conditions, or it would run "
                                "on the same tickets every hour")
    problems.raise_record_invalid()


def _nullifies(rows: list[dict], actions: list[Any]) -> bool:
    """A status action on an automation that tests status, or a tag it adds that it requires absent."""
    fields = {a.get("field"): a.get("value") for a in actions if isinstance(a, dict)}
    if "status" in fields and any(r.get("field") in ("status", *STATUS_HOURS) for r in rows):
        return fields["status"] in STATUSES
    added = set(str(fields.get("current_tags") or "").split()) | set(str(fields.get("set_tags") or "").split())
    return any(r.get("field") == "current_tags" and r.get("operator") == "not_includes"
               and set(str(r.get("value") or "").split()) & added for r in rows)


def _record(automation_id: int, automation: dict, *, created_at: str, updated_at: str) -> dict:
    conditions = automation["conditions"]
    return {
        "id": automation_id,
        "title": automation["title"],
        "raw_title": automation["title"],
        "active": automation["active"],
        "position": automation["position"],
        "conditions": {group: [{"field": r["field"], "operator": r["operator"], "value": r.get("value")}
                               for r in conditions.get(group) or []] for group in ("all", "any")},
        "actions": [{"field": a["field"], "value": a.get("value")} for a in automation["actions"]],
        "created_at": created_at,
        "updated_at": updated_at,
    }
