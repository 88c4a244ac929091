"""Ticket trigger conditions, evaluated as Zendesk documents them.

Sources: developer.zendesk.com/documentation/ticketing/reference-guides/conditions-reference/
(fields, operators, `all` and `any`) and support.zendesk.com/hc/en-us/articles/203662246 ("About
triggers and how they work": all conditions must hold, and at least one `any` condition when
there are some). "Changed" operators compare with the ticket as it was before the update began,
so changes made by earlier triggers of the same cycle count as changes too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zendesk_sandbox.state import SandboxState

STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")
# No priority ("") sorts below low, as the "-" choice does in the trigger editor.
PRIORITY_ORDER = ("", "low", "normal", "high", "urgent")
# Via types reference: ticket channel ids by the sandbox's via.channel (voice by its rel).
VIA_IDS = {"web": 0, "email": 4, "api": 5, "chat": 29}
VOICE_VIA_IDS = {"voicemail": 33, "inbound": 34, "outbound": 35}
CUSTOM_FIELD = re.compile(r"custom_fields_(\d+)")
ORDERED = {"status": STATUS_ORDER, "priority": PRIORITY_ORDER}
# Ticket attributes read as they are stored; ids compare as text, as condition values are strings.
ATTRIBUTES = ("status", "priority", "type", "group_id", "assignee_id", "requester_id", "organization_id",
              "brand_id", "ticket_form_id", "custom_status_id")


@dataclass
class TicketUpdate:
    """One ticket create or update as triggers see it: the ticket before and now, who, how, what comment."""

    before: dict  # {} for a new ticket: every attribute was unset
    after: dict  # the ticket being saved; trigger actions change it
    update_type: str  # "Create" or "Change"
    actor_id: int
    via: dict  # how this update came in (the ticket's own via when it is created)
    comment: dict | None  # {"body": ..., "public": ...} when the update adds one


def evaluated(field: str) -> bool:
    """Whether the sandbox runs conditions on this field (custom_fields_<id> included)."""
    return field in ATTRIBUTES or field in _UPDATE_CONDITIONS or CUSTOM_FIELD.fullmatch(field) is not None


def conditions_hold(state: SandboxState, conditions: dict, update: TicketUpdate) -> bool:
    """Every `all` condition holds, and at least one `any` condition if any are given."""
    rows_all, rows_any = conditions.get("all") or [], conditions.get("any") or []
    if not all(condition_holds(state, row, update) for row in rows_all):
        return False
    return not rows_any or any(condition_holds(state, row, update) for row in rows_any)


def condition_holds(state: SandboxState, row: dict, update: TicketUpdate) -> bool:
    """One checked condition against the update."""
    field, operator, value = row["field"], row["operator"], row.get("value")
    special = _UPDATE_CONDITIONS.get(field)
    if special is not None:
        return special(state, operator, value, update)
    read = _reader(field)
    wanted = _resolve(value, update)
    # A new ticket's `before` is empty, so whatever it was created with counts as changed.
    now, was = read(update.after), read(update.before)
    return _compare(field, operator, wanted, now, was, now != was)


def _compare(field: str, operator: str, wanted: str, now: str, was: str, changed: bool) -> bool:
    if operator == "is":
        return now == wanted
    if operator == "is_not":
        return now != wanted
    if operator in ("less_than", "greater_than"):
        order = ORDERED[field]
        if now not in order or wanted not in order:
            return False
        rank, bound = order.index(now), order.index(wanted)
        return rank < bound if operator == "less_than" else rank > bound
    if operator == "present":
        return now != ""
    if operator == "not_present":
        return now == ""
    if operator == "changed":
        return changed
    if operator == "not_changed":
        return not changed
    changed_to, changed_from = changed and now == wanted, changed and was == wanted
    return {
        "value": changed_to,
        "not_value": not changed_to,
        "value_previous": changed_from,
        "not_value_previous": not changed_from,
    }[operator]


def _reader(field: str) -> Callable[[dict], str]:
    """How to read a condition's field from a ticket, as text ("" when unset)."""
    match = CUSTOM_FIELD.fullmatch(field)
    if match:
        field_id = int(match.group(1))

        def custom(ticket: dict) -> str:
            values = {entry["id"]: entry.get("value") for entry in ticket.get("custom_fields") or ()}
            return _text(values.get(field_id))

        return custom
    return lambda ticket: _text(ticket.get(field))


def _text(value: Any) -> str:
    if value is None or value is False:
        return ""
    return "true" if value is True else str(value)


def _resolve(value: Any, update: TicketUpdate) -> str:
    """A condition value, with current_user, requester_id and assignee_id read from the update."""
    if value == "current_user":
        return str(update.actor_id)
    if value in ("requester_id", "assignee_id"):
        return _text(update.after.get(value))
    return _text(value)


def _words(value: Any) -> list[str]:
    return value.lower().split() if isinstance(value, str) else [str(item).lower() for item in value or ()]


def _update_type(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
    return update.update_type == value


def _current_tags(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
    # A space-separated list: "includes" is "contains at least one of", "not_includes" "contains none of".
    present = set(update.after.get("tags") or ()) & set(_words(value))
    return bool(present) if operator == "includes" else not present


def _via_id(via: dict) -> int | None:
    """The Via types reference id of a `via` object (None for channels the sandbox does not number)."""
    if via.get("channel") == "voice":
        return VOICE_VIA_IDS.get((via.get("source") or {}).get("rel"))
    return VIA_IDS.get(via.get("channel"))


def _via(of: Callable[[TicketUpdate], dict]):
    def check(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
        same = str(_via_id(of(update))) == str(value)
        return same if operator == "is" else not same

    return check


def _recipient(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
    to = ((update.after.get("via") or {}).get("source") or {}).get("to") or {}
    same = str(to.get("address") or "").lower() == str(value).lower()
    return same if operator == "is" else not same


def _comment_is_public(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
    # true: a public comment; false: a private one; not_relevant: a comment of either kind.
    comment = update.comment
    if value == "not_relevant":
        same = comment is not None
    else:
        wanted = value in (True, "true", "requester_can_see_comment")
        same = comment is not None and bool(comment["public"]) is wanted
    return same if operator == "is" else not same


def _text_includes(of: Callable[[TicketUpdate], str]):
    """includes: at least one of the words; not_includes: none; is / is_not: the whole string, or not."""

    def check(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
        text = of(update).lower()
        if operator in ("is", "is_not"):
            found = str(value).lower() in text
            return found if operator == "is" else not found
        words = set(re.findall(r"\w+", text))
        found = any(word in words for word in _words(value))
        return found if operator == "includes" else not found

    return check


def _ticket_is_public(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
    same = ("public" if update.after.get("is_public") else "private") == value
    return same if operator == "is" else not same


def _role(of: Callable[[TicketUpdate], Any]):
    def check(state: SandboxState, operator: str, value: Any, update: TicketUpdate) -> bool:
        user = state.user(of(update)) or {}
        same = (user.get("role") or "").replace("-", "_") == value
        return same if operator == "is" else not same

    return check


_UPDATE_CONDITIONS = {
    "update_type": _update_type,
    "current_tags": _current_tags,
    "via_id": _via(lambda update: update.after.get("via") or {}),
    "current_via_id": _via(lambda update: update.via),
    "recipient": _recipient,
    "comment_is_public": _comment_is_public,
    "comment_includes_word": _text_includes(lambda update: (update.comment or {}).get("body") or ""),
    "subject_includes_word": _text_includes(lambda update: update.after.get("subject") or ""),
    "ticket_is_public": _ticket_is_public,
    "role": _role(lambda update: update.actor_id),
    "requester_role": _role(lambda update: update.after.get("requester_id")),
}
