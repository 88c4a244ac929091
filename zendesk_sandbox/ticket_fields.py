"""Ticket Fields API writes: custom field types, their attributes, and drop-down options.

Follows developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/. Every function here
expects the caller to hold `state.lock`.
"""

from __future__ import annotations

import re
from typing import Any

from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.validation import Problems

CUSTOM_TYPES = (
    "text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "partialcreditcard",
    "multiselect", "tagger", "lookup",
)
OPTION_TYPES = ("tagger", "multiselect")
MAX_OPTIONS = 2000
_BOOLEANS = (
    "active", "required", "collapsed_for_agents", "visible_in_portal", "editable_in_portal", "required_in_portal",
)
_STRINGS = ("description", "agent_description", "title_in_portal", "regexp_for_validation", "tag")
# A tag is one word: Zendesk splits tags on whitespace (and the sandbox on commas too).
_NOT_A_TAG = re.compile(r"[\s,]")


def create_field(state: SandboxState, spec: dict, *, now: str) -> dict:
    """A new custom field from a `ticket_field` object; type defaults to text, as in Zendesk.

    :raises ApiError: 422 RecordInvalid listing every problem.
    """
    problems = Problems()
    field_type = spec.get("type", "text")
    if field_type not in CUSTOM_TYPES:
        problems.add("type", f"Type: {field_type!r} is not a custom field type")
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.add("title", "Title: cannot be blank", "BlankValue")
    options = None
    if field_type in OPTION_TYPES:
        options = check_options(spec.get("custom_field_options"), problems)
    _check_attributes(spec, problems)
    problems.raise_record_invalid()
    ticket_field = state.add_ticket_field(
        title,
        [(option["name"], option["value"]) for option in options] if options is not None else None,
        field_type=field_type,
        description=spec.get("description"),
        created_at=now,
    )
    _set_attributes(ticket_field, spec)
    return ticket_field


def update_field(state: SandboxState, ticket_field: dict, spec: dict, *, now: str) -> None:
    """Apply a `ticket_field` update; `type` can't change, and options sent replace the whole list.

    :raises ApiError: 422 RecordInvalid listing every problem.
    """
    problems = Problems()
    if "title" in spec and (not isinstance(spec["title"], str) or not spec["title"].strip()):
        problems.add("title", "Title: cannot be blank", "BlankValue")
    options = None
    if ticket_field["type"] in OPTION_TYPES and "custom_field_options" in spec:
        options = check_options(spec["custom_field_options"], problems)
    _check_attributes(spec, problems)
    problems.raise_record_invalid()
    if "title" in spec:
        # The portal title follows the title unless it was set apart from it.
        if "title_in_portal" not in spec and ticket_field["title_in_portal"] == ticket_field["title"]:
            ticket_field["title_in_portal"] = ticket_field["raw_title_in_portal"] = spec["title"]
        ticket_field["title"] = ticket_field["raw_title"] = spec["title"]
    _set_attributes(ticket_field, spec)
    if options is not None:
        _replace_options(state, ticket_field, options)
    ticket_field["updated_at"] = now


def upsert_option(state: SandboxState, ticket_field: dict, spec: dict, *, now: str) -> tuple[dict, bool]:
    """Create or update one option (an `id` naming an existing option updates it); True if created.

    :raises ApiError: 422 RecordInvalid when the field has no options or the option is invalid.
    """
    problems = Problems()
    if ticket_field["type"] not in OPTION_TYPES:
        problems.add("custom_field_option", f"Field options: a {ticket_field['type']} field has no options")
        problems.raise_record_invalid()
    options = ticket_field["custom_field_options"]
    existing = next((option for option in options if option["id"] == spec.get("id")), None)
    checked = _check_option(spec, problems)
    others = [option["value"] for option in options if option is not existing]
    if checked and checked["value"] in others:
        used = f"Field option value: {checked['value']!r} is already used"
        problems.add("custom_field_option", used, "DuplicateValue")
    if existing is None and len(options) >= MAX_OPTIONS:
        problems.add("custom_field_option", f"Field options: at most {MAX_OPTIONS} options per field")
    position = spec.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 0):
        problems.add("custom_field_option", "Field option position: must be a whole number")
    problems.raise_record_invalid()
    option = existing or state.new_field_option(checked["name"], checked["value"])
    option.update(name=checked["name"], raw_name=checked["name"], value=checked["value"])
    if existing is None:
        options.append(option)
    if position is not None:
        options.remove(option)
        options.insert(min(position, len(options)), option)
    ticket_field["updated_at"] = now
    return option, existing is None


def option_json(ticket_field: dict, option: dict, base: str) -> dict:
    """An option as the options endpoints show it: with its position and url."""
    return {
        **option,
        "position": ticket_field["custom_field_options"].index(option),
        "url": f"{base}/api/v2/ticket_fields/{ticket_field['id']}/options/{option['id']}.json",
    }


def check_options(raw: Any, problems: Problems) -> list[dict] | None:
    """A drop-down's `custom_field_options`: at least one, each with a name and a unique one-word tag."""
    if not isinstance(raw, list) or not raw:
        problems.add("custom_field_options", "Field options: a drop-down needs at least one option", "BlankValue")
        return None
    if len(raw) > MAX_OPTIONS:
        problems.add("custom_field_options", f"Field options: at most {MAX_OPTIONS} options per field")
    options = [option for option in (_check_option(item, problems) for item in raw) if option]
    seen: set[str] = set()
    for option in options:
        if option["value"] in seen:
            twice = f"Field option value: {option['value']!r} is used twice"
            problems.add("custom_field_options", twice, "DuplicateValue")
        seen.add(option["value"])
    return options


def _check_option(raw: Any, problems: Problems) -> dict | None:
    """{"name", "value"} (and an optional id) of one option, or None after noting what is wrong."""
    if not isinstance(raw, dict):
        problems.add("custom_field_options", f"Field options: {raw!r} is not an option object")
        return None
    name, value = raw.get("name"), raw.get("value")
    valid = True
    if not isinstance(name, str) or not name.strip():
        problems.add("custom_field_options", "Field option name: cannot be blank", "BlankValue")
        valid = False
    if not isinstance(value, str) or not value:
        problems.add("custom_field_options", "Field option value: cannot be blank", "BlankValue")
        valid = False
    elif _NOT_A_TAG.search(value):
        problems.add("custom_field_options", f"Field option value: {value!r} is not a valid tag (no spaces or commas)")
        valid = False
    return {"id": raw.get("id"), "name": name, "value": value} if valid else None


def _check_attributes(spec: dict, problems: Problems) -> None:
    for name in _BOOLEANS:
        if name in spec and not isinstance(spec[name], bool):
            problems.add(name, f"{name}: must be true or false")
    for name in _STRINGS:
        if spec.get(name) is not None and not isinstance(spec[name], str):
            problems.add(name, f"{name}: must be text")
    position = spec.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        problems.add("position", "position: must be a whole number")


def _set_attributes(ticket_field: dict, spec: dict) -> None:
    for name in (*_BOOLEANS, *_STRINGS, "position"):
        if name in spec:
            ticket_field[name] = spec[name]
    if "description" in spec:
        ticket_field["raw_description"] = spec["description"]
    if "title_in_portal" in spec:
        ticket_field["raw_title_in_portal"] = spec["title_in_portal"]


def _replace_options(state: SandboxState, ticket_field: dict, wanted: list[dict]) -> None:
    """The options become `wanted`: kept ones (by id, else by tag) keep their ids; the rest are removed."""
    current = ticket_field["custom_field_options"]
    by_id = {option["id"]: option for option in current}
    by_value = {option["value"]: option for option in current}
    old_values = {option["id"]: option["value"] for option in current}
    replaced: dict[int, dict] = {}
    for spec in wanted:
        option = by_id.get(spec["id"]) or by_value.get(spec["value"])
        if option is None or option["id"] in replaced:
            option = state.new_field_option(spec["name"], spec["value"])
        option.update(name=spec["name"], raw_name=spec["name"], value=spec["value"])
        replaced[option["id"]] = option
    ticket_field["custom_field_options"] = list(replaced.values())
    removed = {value for option_id, value in old_values.items() if option_id not in replaced}
    _forget_values(state, ticket_field["id"], removed - {option["value"] for option in replaced.values()})


def _forget_values(state: SandboxState, field_id: int, removed: set[str]) -> None:
    """Clear removed option tags from tickets' field values and drop macro actions that set them."""
    # Update Ticket Field: "Omitting an option ... removes its values from any tickets or macros".
    if not removed:
        return
    for ticket in state.tickets.values():
        for entry in ticket["custom_fields"]:
            if entry["id"] == field_id and entry["value"] in removed:
                entry["value"] = None
    action_field = f"custom_fields_{field_id}"
    for macro in state.macros.values():
        macro["actions"] = [
            action
            for action in macro["actions"]
            if not (action["field"] == action_field and action["value"] in removed)
        ]
