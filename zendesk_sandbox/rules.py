"""Business-rule conditions and actions (triggers, macros) checked against Zendesk's references.

The field and operator sets follow developer.zendesk.com's "Conditions reference" and "Actions
reference" (ticket triggers and macros only; automations, views and SLAs are not modelled).
Refusing what Zendesk would refuse makes setup code fail here first; triggers run in trigger_cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.validation import Problems
from zendesk_sandbox.webhook_records import CONDITIONAL_TICKET_EVENTS
from zendesk_sandbox.ticket_values import PRIORITIES, STATUSES, TICKET_TYPES

Check = Callable[[Any], bool]

EQUALITY = ("is", "is_not")
ORDER = ("less_than", "greater_than")
CHANGE = ("changed", "value", "value_previous", "not_changed", "not_value", "not_value_previous")
INCLUSION = ("includes", "not_includes")
# Operators that test presence or change only; Zendesk stores their value as null.
VALUELESS = ("changed", "not_changed", "present", "not_present")
CUSTOM_FIELD = re.compile(r"custom_fields_(\d+)")


def _one_of(*choices: Any) -> Check:
    # Compare types too: True == 1 in Python, but the API tells "true" from 1.
    return lambda value: any(type(value) is type(choice) and value == choice for choice in choices)


def _id_or(*words: str) -> Check:
    """A numeric id (number or digit string) or one of the given keywords ("" clears)."""
    return lambda value: (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, str) and (value.isdigit() or value in words))
    )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _tags(value: Any) -> bool:
    """A space-delimited string of tags, or a list of tags."""
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(tag, str) for tag in value))


_ID = _id_or()


def _ids(value: Any) -> bool:
    """One id or a list of them (custom_status_id with includes)."""
    return _ID(value) or (isinstance(value, list) and bool(value) and all(_ID(item) for item in value))


def _strings(count: int) -> Check:
    return lambda value: isinstance(value, list) and len(value) == count and all(isinstance(v, str) for v in value)


def _comment(value: Any) -> bool:
    """comment_value: text, or ["channel:all", text]."""
    return isinstance(value, str) or _strings(2)(value)


_BOOLEAN = _one_of(True, False, "true", "false")
_ROLES = _one_of("end_user", "agent", "admin")
_WORDS = ("includes", "not_includes", "is", "is_not")

TRIGGER_CONDITIONS: dict[str, tuple[tuple[str, ...], Check]] = {
    "status": (EQUALITY + ORDER + CHANGE, _one_of(*STATUSES)),
    "priority": (EQUALITY + ORDER + CHANGE, _one_of("", *PRIORITIES)),
    "type": (EQUALITY + CHANGE, _one_of("", *TICKET_TYPES)),
    "group_id": (EQUALITY + CHANGE, _id_or("")),
    "assignee_id": (EQUALITY + CHANGE, _id_or("", "current_user", "requester_id")),
    "requester_id": (EQUALITY + CHANGE, _id_or("", "current_user", "assignee_id")),
    "organization_id": (EQUALITY + CHANGE, _id_or("")),
    "brand_id": (EQUALITY + CHANGE, _ID),
    "ticket_form_id": (EQUALITY + CHANGE, _ID),
    "custom_status_id": (EQUALITY + INCLUSION + CHANGE, _ids),
    "current_tags": (INCLUSION, _text),
    "via_id": (EQUALITY, _ID),
    "current_via_id": (EQUALITY, _ID),
    "recipient": (EQUALITY, _text),
    "locale_id": (EQUALITY, _ID),
    "subject_includes_word": (_WORDS, _text),
    "comment_includes_word": (_WORDS, _text),
    "update_type": (("is",), _one_of("Create", "Change")),
    "comment_is_public": (EQUALITY, _one_of(True, False, "true", "false", "not_relevant", "requester_can_see_comment")),
    "ticket_is_public": (EQUALITY, _one_of("public", "private")),
    "reopens": (ORDER + ("is",), _ID),
    "replies": (ORDER + ("is",), _ID),
    "agent_stations": (ORDER + ("is",), _ID),
    "group_stations": (ORDER + ("is",), _ID),
    "in_business_hours": (("is",), _BOOLEAN),
    "role": (EQUALITY, _ROLES),
    "requester_role": (EQUALITY, _ROLES),
}
CUSTOM_FIELD_OPERATORS = EQUALITY + ("present", "not_present") + CHANGE

_SHARED_ACTIONS: dict[str, Check] = {
    "type": _one_of(*TICKET_TYPES),
    "priority": _one_of(*PRIORITIES),
    "group_id": _id_or("", "current_groups"),
    "assignee_id": _id_or("", "current_user", "requester_id"),
    "set_tags": _tags,
    "current_tags": _tags,
    "remove_tags": _tags,
    "custom_status_id": _ID,
    "brand_id": _ID,
    "ticket_form_id": _ID,
}
# Macros can't set "new" or "closed", but they alone write comments and the subject.
MACRO_ACTIONS: dict[str, Check] = {
    **_SHARED_ACTIONS,
    "status": _one_of("open", "pending", "hold", "solved"),
    "subject": _string,
    "comment_value": _comment,
    "comment_value_html": _comment,
    "comment_mode_is_public": _BOOLEAN,
}
# notification_webhook is checked against the account's webhooks, in check_actions.
TRIGGER_ACTIONS: dict[str, Check] = {
    **_SHARED_ACTIONS,
    "status": _one_of(*STATUSES),
    "notification_user": _strings(3),
    "notification_group": _strings(3),
    "notification_target": _strings(2),
    "satisfaction_score": _one_of("offered_to_requester"),
    "locale_id": _ID,
    "cc": _text,
    "follower": _text,
}


def check_conditions(state: SandboxState, conditions: Any, problems: Problems) -> None:
    """Note every condition that is not in the trigger conditions reference."""
    if not isinstance(conditions, dict):
        problems.add("conditions", "Conditions: must be an object with all and any lists")
        return
    for group in ("all", "any"):
        rows = conditions.get(group) or []
        if not isinstance(rows, list):
            problems.add("conditions", f"Conditions: {group} must be a list")
            continue
        for row in rows:
            _check_condition(state, row, problems)


def check_actions(state: SandboxState, actions: Any, table: dict[str, Check], problems: Problems) -> None:
    """Note a missing action list and every action not in `table` (MACRO_ACTIONS or TRIGGER_ACTIONS)."""
    if not isinstance(actions, list) or not actions:
        problems.add("actions", "Actions: cannot be blank", "BlankValue")
        return
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("field"), str):
            problems.add("actions", f"Actions: {action!r} needs a field and a value")
            continue
        field, value = action["field"], action.get("value")
        if field == "notification_webhook" and table is TRIGGER_ACTIONS:
            _check_webhook_action(state, value, problems)
            continue
        check = table.get(field) or _custom_field_check(state, field)
        if check is None:
            problems.add("actions", f"Actions: {field} is not a valid action")
        elif not check(value):
            problems.add("actions", f"Actions: {value!r} is not a valid value for {field}")


def _check_condition(state: SandboxState, row: Any, problems: Problems) -> None:
    if not isinstance(row, dict) or not isinstance(row.get("field"), str) or not isinstance(row.get("operator"), str):
        problems.add("conditions", f"Conditions: {row!r} needs a field, an operator and a value")
        return
    field, operator, value = row["field"], row["operator"], row.get("value")
    spec = TRIGGER_CONDITIONS.get(field)
    if spec is None:
        check = _custom_field_check(state, field)
        spec = (CUSTOM_FIELD_OPERATORS, check) if check else None
    if spec is None:
        problems.add("conditions", f"Conditions: {field} is not a valid condition field")
        return
    operators, check = spec
    if operator not in operators:
        problems.add("conditions", f"Conditions: {operator} is not a valid operator for {field}")
    elif operator not in VALUELESS and not check(value):
        problems.add("conditions", f"Conditions: {value!r} is not a valid value for {field}")


def _custom_field_check(state: SandboxState, field: str) -> Check | None:
    """custom_fields_<id> of an existing field; a drop-down takes one of its option tags, or "" to clear."""
    match = CUSTOM_FIELD.fullmatch(field)
    ticket_field = state.ticket_fields.get(int(match.group(1))) if match else None
    if ticket_field is None:
        return None
    if ticket_field["type"] != "tagger":
        return lambda value: True
    return _one_of("", *(option["value"] for option in ticket_field["custom_field_options"]))


def _check_webhook_action(state: SandboxState, value: Any, problems: Problems) -> None:
    """[webhook id, body]: the webhook exists, is connected to triggers, and a JSON webhook gets JSON text."""
    if not _strings(2)(value):
        problems.add("actions", "Actions: notification_webhook takes [webhook id, request body]")
        return
    webhook_id, body = value
    webhook = state.webhooks.get(webhook_id)
    if webhook is None:
        problems.add("actions", f"Actions: webhook {webhook_id} does not exist")
        return
    if webhook["subscriptions"] != [CONDITIONAL_TICKET_EVENTS]:
        problems.add("actions", f"Actions: webhook {webhook_id} is not subscribed to {CONDITIONAL_TICKET_EVENTS}")
    if webhook["request_format"] == "json" and webhook["http_method"] in ("POST", "PUT", "PATCH"):
        try:
            json.loads(body)
        except ValueError:
            # Placeholders render as plain text, so they must sit inside JSON strings.
            problems.add("actions", "Actions: the webhook request body is not valid JSON")
