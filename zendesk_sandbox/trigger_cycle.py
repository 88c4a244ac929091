"""The ticket trigger cycle: the account's active triggers run on every ticket create and update.

Sources:
- developer.zendesk.com/api-reference/ticketing/business-rules/triggers/ ("All your ticket
  triggers are checked from first to last each time a ticket is created or updated").
- support.zendesk.com/hc/en-us/articles/4408886797466 ("Understanding when ticket triggers run
  and fire": every create or update runs the triggers in a cycle, in list order; a trigger that
  fires updates the ticket and the cycle starts again from the first trigger; a trigger fires at
  most once per cycle; the cycle ends when a whole pass fires none) and 203662246 ("About
  triggers and how they work").
- developer.zendesk.com/documentation/ticketing/reference-guides/actions-reference/ for actions;
  zendesk_sandbox.conditions for conditions.
Trigger changes join the update being saved (one audit, one updated_at); webhook bodies are
returned to be rendered once the ticket is saved, as Zendesk sends them after the update.
Every function here expects the caller to hold `state.lock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zendesk_sandbox.conditions import CUSTOM_FIELD, TicketUpdate, conditions_hold, evaluated
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.validation import Problems

ApplyChanges = Callable[[dict], None]
# Actions the cycle performs; other actions of the reference (emails, SLAs, brands) are refused
# when a trigger is saved, so a trigger never looks as if it ran while doing nothing here.
TAG_ACTIONS = {"set_tags": "tags", "current_tags": "additional_tags", "remove_tags": "remove_tags"}
FIELD_ACTIONS = ("status", "priority", "type", "group_id", "assignee_id")
WEBHOOK_ACTION = "notification_webhook"


@dataclass(frozen=True)
class WebhookCall:
    """A notification_webhook action that fired: the body is still a template."""

    webhook_id: str
    body: str
    trigger_id: int


def run_cycle(state: SandboxState, update: TicketUpdate, apply_changes: ApplyChanges) -> list[WebhookCall]:
    """Fire the active triggers on `update` until a whole pass fires none; each fires at most once.

    `apply_changes` applies a Tickets API change set to `update.after`, the ticket being saved.
    """
    active = sorted((t for t in state.triggers.values() if t["active"]), key=firing_order)
    fired: set[int] = set()
    calls: list[WebhookCall] = []
    while True:
        for trigger in active:
            if trigger["id"] in fired or not conditions_hold(state, trigger["conditions"], update):
                continue
            fired.add(trigger["id"])
            calls += perform_actions(trigger, update, apply_changes)
            break  # the ticket changed: the cycle starts again from the first trigger
        else:
            return calls


def firing_order(trigger: dict) -> tuple:
    """Triggers run, and are listed, by position, then title, then id."""
    return trigger["position"], trigger["title"], trigger["id"]


def check_runnable(trigger: dict, problems: Problems) -> None:
    """Note every condition or action the cycle would not perform (the references list more)."""
    conditions = trigger.get("conditions") if isinstance(trigger.get("conditions"), dict) else {}
    for group in ("all", "any"):
        for row in conditions.get(group) or ():
            if isinstance(row, dict) and isinstance(row.get("field"), str) and not evaluated(row["field"]):
                problems.add("conditions", f"Conditions: the sandbox does not run {row['field']} conditions")
    for action in trigger.get("actions") if isinstance(trigger.get("actions"), list) else ():
        field = action.get("field") if isinstance(action, dict) else None
        if isinstance(field, str) and not _performed(field):
            problems.add("actions", f"Actions: the sandbox does not perform {field} actions")
        elif field == "group_id" and action.get("value") == "current_groups":
            problems.add("actions", "Actions: the sandbox has no group memberships for current_groups")


def _performed(field: str) -> bool:
    return field in (*TAG_ACTIONS, *FIELD_ACTIONS, WEBHOOK_ACTION) or bool(CUSTOM_FIELD.fullmatch(field))


def perform_actions(trigger: dict, update: TicketUpdate, apply_changes: ApplyChanges) -> list[WebhookCall]:
    """Apply one rule's actions (a trigger's or an automation's) to the ticket being saved; return its webhook
    calls."""
    changes: dict[str, Any] = {}
    calls = []
    for action in trigger["actions"]:
        field, value = action["field"], action.get("value")
        if field == WEBHOOK_ACTION:
            calls.append(WebhookCall(webhook_id=value[0], body=value[1], trigger_id=trigger["id"]))
        elif field in TAG_ACTIONS:
            key = TAG_ACTIONS[field]
            words = value.split() if isinstance(value, str) else list(value)
            changes[key] = changes.get(key, []) + words
        elif field in FIELD_ACTIONS:
            changes[field] = _value(field, value, update)
        else:
            field_id = int(CUSTOM_FIELD.fullmatch(field).group(1))
            changes.setdefault("custom_fields", []).append({"id": field_id, "value": value or None})
    if changes:
        apply_changes(changes)
    return calls


def _value(field: str, value: Any, update: TicketUpdate) -> Any:
    """An action value as the Tickets API takes it: ids as numbers, "" as unset, current_user resolved."""
    if value == "current_user":
        return update.actor_id
    if value == "requester_id":
        return update.after.get("requester_id")
    if field in ("group_id", "assignee_id"):
        return int(value) if str(value).isdigit() else None
    return value
