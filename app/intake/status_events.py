"""Status page webhook bodies, parsed into one typed event.

Two forms are taken:

* Atlassian Statuspage's incident webhook, as documented at
  https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/ : a JSON object with `meta`,
  `page` and `incident`; the incident has `id`, `name`, `status` (investigating, identified, monitoring,
  resolved, postmortem; scheduled, in_progress, verifying, completed for maintenance), `impact`,
  `created_at`, `updated_at`, its `components` and `incident_updates[].affected_components`. Its
  component webhooks (`component_update`) carry no incident and are acknowledged and ignored.
* A generic form for other tools: {"id": "…", "name": "…", "status": "investigating", "components": ["API"],
  "updated_at": "…" (optional), "started_at": "…" (optional, ISO 8601)}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from app.errors import InputError

# The incident statuses Outage Desk acts on; Statuspage's others are acknowledged and ignored.
ACTED_ON = ("investigating", "identified", "monitoring", "resolved")
STATUSPAGE_STATUSES = frozenset({*ACTED_ON, "postmortem", "scheduled", "in_progress", "verifying", "completed"})
MAX_ID, MAX_NAME, MAX_STAMP = 100, 200, 40
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # no status page incident is older


@dataclass(frozen=True)
class StatusEvent:
    source: str  # statuspage | generic
    source_id: str
    name: str
    status: str
    components: tuple[str, ...]  # names and ids, as the body gives them
    impact: str | None = None
    updated_at: str | None = None
    opened_at: datetime | None = None

    @property
    def delivery_key(self) -> str:
        """The same update of the same incident, however many times it is delivered."""
        return f"{self.source}:{self.source_id}:{self.status}:{self.updated_at or ''}"


def parse_status_event(data: dict) -> StatusEvent | None:
    """The event in a webhook body already read as a JSON object; None for a Statuspage component webhook.

    :raises InputError: a body of neither form, or one whose fields are not what the form documents.
    """
    if "incident" in data:
        return _statuspage(data["incident"])
    if "component_update" in data or "component" in data:
        return None
    if "status" in data:
        return _generic(data)
    raise InputError("body is neither a Statuspage incident webhook nor the generic form (no 'incident', no 'status')")


def _statuspage(incident: object) -> StatusEvent:
    if not isinstance(incident, dict):
        raise InputError("'incident' must be an object")
    status = _text(incident, "status", MAX_NAME)
    if status not in STATUSPAGE_STATUSES:
        raise InputError(f"'status' must be one of Statuspage's incident statuses: {', '.join(sorted(STATUSPAGE_STATUSES))}")
    components = [value for item in _objects(incident, "components") for value in _names(item, "id")]
    for update in _objects(incident, "incident_updates"):
        components += [value for item in _objects(update, "affected_components") for value in _names(item, "code")]
    impact = incident.get("impact")
    if impact is not None and (not isinstance(impact, str) or len(impact) > 20):
        raise InputError("'impact' must be none, minor, major or critical")
    return StatusEvent(source="statuspage", source_id=_text(incident, "id", MAX_ID), name=_text(incident, "name", MAX_NAME),
                       status=status, components=tuple(components), impact=impact or None,
                       updated_at=_stamp(incident, "updated_at"), opened_at=_moment(incident, "created_at"))


def _generic(data: dict) -> StatusEvent:
    status = _text(data, "status", MAX_NAME)
    if status not in ACTED_ON:
        raise InputError(f"'status' must be one of {', '.join(ACTED_ON)}")
    components = data.get("components")
    if not isinstance(components, list) or not all(isinstance(c, str) and 0 < len(c) <= MAX_NAME for c in components):
        raise InputError("'components' must be a list of component names")
    return StatusEvent(source="generic", source_id=_text(data, "id", MAX_ID), name=_text(data, "name", MAX_NAME),
                       status=status, components=tuple(components), updated_at=_stamp(data, "updated_at"),
                       opened_at=_moment(data, "started_at"))


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # ids may come as numbers from other tools
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise InputError(f"'{key}' must be text of 1 to {limit} characters")
    return value.strip()


def _objects(data: dict, key: str) -> list[dict]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InputError(f"'{key}' must be a list of objects")
    return value


def _names(component: dict, id_key: str) -> list[str]:
    """A component's name and id: the admin maps either."""
    return [value for value in (component.get("name"), component.get(id_key))
            if isinstance(value, str) and 0 < len(value) <= MAX_NAME]


def _stamp(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_STAMP):
        raise InputError(f"'{key}' must be a timestamp")
    return value or None


def _moment(data: dict, key: str) -> datetime | None:
    text = _stamp(data, key)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        raise InputError(f"'{key}' must be an ISO 8601 time") from None
    # The worker looks back an hour before it: a time near year 1 would overflow there, on every pass.
    if moment < EARLIEST:
        raise InputError(f"'{key}' must be a time after {EARLIEST:%Y}")
    return moment
