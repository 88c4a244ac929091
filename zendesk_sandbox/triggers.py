"""Ticket triggers and trigger categories as the Triggers API stores them: checked and placed.

Follows developer.zendesk.com/api-reference/ticketing/business-rules/triggers/ and the trigger
categories API; record shapes match Zendesk's answers recorded in zenpy's test cassettes. They
run in zendesk_sandbox.trigger_cycle. Every function here expects the caller to hold `state.lock`.
"""

from __future__ import annotations

from typing import Any

from zendesk_sandbox import rules
from zendesk_sandbox.trigger_cycle import check_runnable
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.validation import Problems

RULE_KEYS = ("conditions", "all", "any", "actions")


def create_trigger(state: SandboxState, spec: dict, *, now: str) -> dict:
    """A new trigger from a `trigger` object, placed last unless a position is given.

    :raises ApiError: 422 RecordInvalid listing every problem.
    """
    trigger = {
        "title": spec.get("title"),
        "active": spec.get("active", True),
        "actions": spec.get("actions"),
        "conditions": _conditions(spec),
        "description": spec.get("description"),
        "position": spec.get("position"),
        "category_id": _category_id(spec.get("category_id")),
    }
    category = _check(state, trigger, spec.get("category"))
    if category is not None:
        trigger["category_id"] = add_category(state, category, now=now)["id"]
    elif trigger["category_id"] is None:
        # Zendesk files a trigger sent without a category under the account's first one.
        first = min(state.trigger_categories.values(), key=lambda c: (c["position"], int(c["id"])), default=None)
        trigger["category_id"] = first["id"] if first else None
    if trigger["position"] is None:
        trigger["position"] = max((other["position"] for other in state.triggers.values()), default=0) + 1
    record = _record(state.next_id("trigger"), trigger, created_at=now, updated_at=now)
    state.triggers[record["id"]] = record
    return record


def update_trigger(state: SandboxState, stored: dict, spec: dict, *, now: str) -> dict:
    """The trigger after an update: attributes sent replace stored ones; conditions or actions sent clear both.

    :raises ApiError: 422 RecordInvalid listing every problem.
    """
    trigger = {name: stored[name] for name in ("title", "active", "actions", "conditions", "description")}
    trigger.update(position=stored["position"], category_id=stored["category_id"])
    for name in ("title", "active", "description", "position"):
        if name in spec:
            trigger[name] = spec[name]
    if "category_id" in spec:
        trigger["category_id"] = _category_id(spec["category_id"])
    if any(key in spec for key in RULE_KEYS):
        # "Updating a condition or action updates both the conditions and actions arrays,
        # clearing all existing values of both arrays" (Update Ticket Trigger).
        trigger.update(actions=spec.get("actions", []), conditions=_conditions(spec))
    category = _check(state, trigger, spec.get("category"))
    if category is not None:
        trigger["category_id"] = add_category(state, category, now=now)["id"]
    record = _record(stored["id"], trigger, created_at=stored["created_at"], updated_at=now)
    state.triggers[record["id"]] = record
    return record


def trigger_json(trigger: dict, base: str) -> dict:
    """A trigger with its url first, as Zendesk lists it."""
    return {"url": f"{base}/api/v2/triggers/{trigger['id']}.json", **trigger}


def check_category(spec: Any, problems: Problems) -> None:
    """A `trigger_category` (or a trigger's inline `category`): a name, and a whole-number position if any."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
        problems.add("name", "Name cannot be blank", "InvalidTriggerCategory")
        return
    position = spec.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        problems.add("position", "Position must be a whole number", "InvalidTriggerCategory")


def add_category(state: SandboxState, spec: dict, *, now: str) -> dict:
    """Store a checked category, placed last unless a position is given; its id is a string, as in Zendesk."""
    position = spec.get("position")
    if position is None:
        position = max((category["position"] for category in state.trigger_categories.values()), default=-1) + 1
    category_id = state.next_id("trigger_category")
    category = {
        "id": str(category_id),
        "name": spec["name"],
        "position": position,
        "created_at": now,
        "updated_at": now,
    }
    state.trigger_categories[category_id] = category
    return category


def category(state: SandboxState, category_id: Any) -> dict | None:
    """The category with this id (string or number), or None."""
    key = _category_id(category_id)
    return state.trigger_categories.get(int(key)) if key and key.isdigit() else None


def _conditions(spec: dict) -> Any:
    """conditions, or the deprecated top-level all/any that Zendesk still accepts."""
    if "conditions" in spec:
        return spec["conditions"]
    return {"all": spec.get("all") or [], "any": spec.get("any") or []}


def _category_id(value: Any) -> str | None:
    return None if value is None else str(value)


def _check(state: SandboxState, trigger: dict, inline_category: Any) -> dict | None:
    """Raise 422 for anything wrong; return the inline category to create, if one was sent."""
    problems = Problems()
    title = trigger["title"]
    if not isinstance(title, str) or not title.strip():
        problems.add("title", "Title: cannot be blank", "BlankValue")
    if not isinstance(trigger["active"], bool):
        problems.add("active", "Active: must be true or false")
    if trigger["description"] is not None and not isinstance(trigger["description"], str):
        problems.add("description", "Description: must be text")
    position = trigger["position"]
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        problems.add("position", "Position: must be a whole number")
    rules.check_conditions(state, trigger["conditions"], problems)
    rules.check_actions(state, trigger["actions"], rules.TRIGGER_ACTIONS, problems)
    check_runnable(trigger, problems)
    if inline_category is not None:
        check_category(inline_category, problems)
    elif trigger["category_id"] is not None and category(state, trigger["category_id"]) is None:
        problems.add("category_id", f"Category: {trigger['category_id']} does not exist")
    problems.raise_record_invalid()
    return inline_category


def _record(trigger_id: int, trigger: dict, *, created_at: str, updated_at: str) -> dict:
    """A stored trigger, keys in the order Zendesk returns them."""
    conditions = trigger["conditions"]
    return {
        "id": trigger_id,
        "title": trigger["title"],
        "active": trigger["active"],
        "updated_at": updated_at,
        "created_at": created_at,
        "default": False,
        "actions": [{"field": action["field"], "value": action.get("value")} for action in trigger["actions"]],
        "conditions": {group: [_condition(row) for row in conditions.get(group) or []] for group in ("all", "any")},
        "description": trigger["description"],
        "position": trigger["position"],
        "raw_title": trigger["title"],
        "category_id": trigger["category_id"],
    }


def _condition(row: dict) -> dict:
    """A condition as stored: presence and change operators keep a null value."""
    return {"field": row["field"], "operator": row["operator"], "value": row.get("value")}
