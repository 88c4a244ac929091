"""The outage's rules, free of Flask and zenpy: urgency, audiences, languages, states."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.errors import InputError


class State(StrEnum):
    SUSPECTED = "suspected"
    DECLARED = "declared"
    RESOLVING = "resolving"  # closing replies going out: until every one is settled
    RESOLVED = "resolved"
    DISMISSED = "dismissed"  # a suspicion a person said was no outage
    EXPIRED = "expired"  # a suspicion whose cluster went quiet for the detection window before anyone decided


# Declared or resolving: the incident writes to Zendesk and holds its tag.
ACTIVE_STATES = (State.DECLARED, State.RESOLVING)
# Suspicions that never became an outage: nothing was written to Zendesk for them, nothing is to resolve.
NEVER_DECLARED = (State.SUSPECTED, State.DISMISSED, State.EXPIRED)


class Kind(StrEnum):
    UNPLANNED = "unplanned"
    SCHEDULED = "scheduled"
    STATUS_PAGE = "status_page"  # declared by the status page's webhook


class Audience(StrEnum):
    """The runbook's three closing groups; every ticket is in exactly one."""

    ABANDONED = "abandoned"  # abandoned or missed calls: the product referent writes
    UNASSIGNED = "unassigned"  # the product referent writes, and takes the ticket
    ASSIGNED = "assigned"  # each agent writes to their own


# Urgency levels 1–4 (business impact) and Zendesk's four priorities.
PRIORITY_BY_LEVEL = {1: "urgent", 2: "high", 3: "normal", 4: "low"}
LEVEL_BY_PRIORITY = {priority: level for level, priority in PRIORITY_BY_LEVEL.items()}
ABANDONED_CALL_TAGS = frozenset({"voice_abandoned_in_queue", "voice_abandoned_in_ivr", "voice_abandoned_in_voicemail"})
UNSOLVED = frozenset({"new", "open", "pending", "hold"})
TAG_PATTERN = re.compile(r"^[^\s,]{1,80}$")


@dataclass(frozen=True)
class IncidentSpec:
    """What an admin declares: validated before anything is written."""

    title: str
    query: str
    started_at: datetime
    severity: int = 2
    kind: Kind = Kind.UNPLANNED
    tag: str = "api_down"
    cr_value: str = "Technical Issue::TI/Status Wavy"

    def __post_init__(self):
        for name, limit in (("title", 200), ("query", 2000), ("cr_value", 200), ("tag", 80)):
            value = getattr(self, name)
            if len(value) > limit:
                raise InputError(f"the {name} is longer than {limit} characters")
            if "\x00" in value:
                raise InputError(f"the {name} holds a NUL character")
        if not self.title.strip():
            raise InputError("the incident needs a title")
        if not self.query.strip():
            raise InputError("the incident needs a search query (e.g. subject words, a form or a tag)")
        if self.severity not in PRIORITY_BY_LEVEL:
            raise InputError("severity must be an urgency level from 1 (urgent) to 4 (low)")
        if not TAG_PATTERN.match(self.tag):
            raise InputError("the tag cannot hold spaces or commas (Zendesk tags are single words)")
        if self.started_at.tzinfo is None:
            raise InputError("the start time needs a time zone (e.g. 2026-11-22T10:00:00Z)")


def impact_level(option_value: object) -> int | None:
    """The urgency level of a business-impact option, read from its first digit 1–4."""
    match = re.search(r"[1-4]", str(option_value or ""))
    return int(match.group()) if match else None


def raised_priority(current: str | None, impact: int | None, incident_level: int,
                    new_customer: bool = False) -> str | None:
    """The priority to set: the most urgent of the ticket's own, its impact level and the incident's,
    one level more for a new customer (the runbook: losing one costs most), never lower.

    Returns None when the ticket already has it (nothing to write).
    """
    levels = [incident_level]
    if impact is not None:
        levels.append(impact)
    if new_customer:
        levels.append(max(1, min(levels) - 1))
    if current in LEVEL_BY_PRIORITY:
        levels.append(LEVEL_BY_PRIORITY[current])
    target = PRIORITY_BY_LEVEL[min(levels)]
    return None if target == current else target


def audience_of(tags: tuple[str, ...], channel: str | None, via_rel: str | None, assignee_id: int | None) -> Audience:
    """Which closing group a ticket falls in.

    Abandoned is what Zendesk Talk says it is (its voice_abandoned_in_* tags), plus calls nobody
    answered (voicemails) that nobody took; an assigned voicemail is its agent's, like any ticket.
    """
    unanswered = channel == "voice" and via_rel == "voicemail" and assignee_id is None
    if ABANDONED_CALL_TAGS.intersection(tags) or unanswered:
        return Audience.ABANDONED
    return Audience.UNASSIGNED if assignee_id is None else Audience.ASSIGNED


def closing_language(locale: str | None, available: set[str], default: str) -> str:
    """The macro language for a requester's locale: exact, then base language, then default.

    An empty string stands for a single macro used for every language.
    """
    by_lower = {language.lower(): language for language in available}
    if locale:
        wanted = locale.lower()
        if wanted in by_lower:
            return by_lower[wanted]
        base = wanted.split("-")[0]
        if base in by_lower:
            return by_lower[base]
        for language in available:
            if language.lower().split("-")[0] == base:
                return language
    if default.lower() in by_lower:
        return by_lower[default.lower()]
    if "" in available:
        return ""
    raise InputError(f"no closing macro for the default language {default!r}")
