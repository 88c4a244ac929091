"""Which tickets a parsed search query finds, by the rules of Zendesk's search reference.

https://support.zendesk.com/hc/en-us/articles/4408886879258 (Zendesk Support search reference):
words match whole words or the start of a longer word, never the middle or end; quoted phrases
match consecutive words; `tags:a tags:b` finds either tag, `tags:"a b"` both; `-` excludes.
https://support.zendesk.com/hc/en-us/articles/4408882086298 (Searching tickets): via values,
date forms, `custom_field_<id>:*`. Repeating a keyword with `:` widens (any of the values);
comparisons narrow, so `created>X created<Y` is a range.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from zendesk_sandbox.search_query import CUSTOM_FIELD, ParsedQuery, Property, QuerySyntaxError, Text
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.ticket_values import PRIORITIES, STATUSES
from zendesk_sandbox.timefmt import parse_iso

_WORD = re.compile(r"\w+")
_RELATIVE = re.compile(r"(\d+)(minute|hour|day|week|month|year)s?")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# The documented via values, as the ticket's via.channel (and via.source.rel for calls).
VIA = {
    "mail": lambda channel, rel: channel == "email",
    "chat": lambda channel, rel: channel == "chat",
    "voicemail": lambda channel, rel: channel == "voice" and rel == "voicemail",
    "phone_call_inbound": lambda channel, rel: channel == "voice" and rel == "inbound",
    "phone_call_outbound": lambda channel, rel: channel == "voice" and rel == "outbound",
    # "phone" is voicemail, CTI or an inbound call, not an outbound one.
    "phone": lambda channel, rel: channel == "voice" and rel in ("voicemail", "inbound"),
    **{
        name: (lambda wanted: lambda channel, rel: channel == wanted)(name)
        for name in ("api", "web", "sms", "mobile_sdk", "any_channel", "native_messaging", "side_conversation",
                     "closed_ticket", "ticket_sharing")
    },
}
PEOPLE = {"assignee": "assignee_id", "requester": "requester_id", "submitter": "submitter_id"}


def words(text: str) -> list[str]:
    """Lower-cased words, split at anything that is not a letter or digit ("Tip-Top" is two words)."""
    return _WORD.findall(text.lower())


def contains(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle` occurs as consecutive words, its last word possibly the start of a longer one."""
    if not needle:
        return False
    *whole, last = needle
    size = len(needle)
    for start in range(len(haystack) - size + 1):
        if haystack[start : start + size - 1] == whole and haystack[start + size - 1].startswith(last):
            return True
    return False


class Matcher:
    """One query, resolved against the account (people, relative dates) once, then tested per ticket."""

    def __init__(self, query: ParsedQuery, state: SandboxState, *, me_id: int, now: datetime):
        self._state = state
        self._checks: list[Callable[[dict], bool]] = []
        widening: dict[str, list[Callable[[dict], bool]]] = {}
        for term in query.terms:
            check = self._check(term, me_id, now)
            if isinstance(term, Property) and term.operator == ":" and not term.negated:
                widening.setdefault(term.keyword, []).append(check)
            elif term.negated:
                self._checks.append(lambda ticket, check=check: not check(ticket))
            else:
                self._checks.append(check)
        for alternatives in widening.values():
            self._checks.append(lambda ticket, alternatives=alternatives: any(c(ticket) for c in alternatives))

    def matches(self, ticket: dict) -> bool:
        """Whether the query finds this ticket."""
        return all(check(ticket) for check in self._checks)

    def _check(self, term: Text | Property, me_id: int, now: datetime) -> Callable[[dict], bool]:
        if isinstance(term, Text):
            return self._text(term)
        keyword, value = term.keyword, term.value.lower()
        if keyword == "type":
            return lambda ticket: value == "ticket"
        if keyword == "status":
            return _ordered(STATUSES, "status", term.operator, value)
        if keyword == "priority":
            return _ordered(PRIORITIES, "priority", term.operator, value)
        if keyword == "ticket_type":
            return lambda ticket: (ticket["type"] or "none") == value
        if keyword == "tags":
            return _tags(value, every=term.quoted)
        if keyword == "via":
            wanted = VIA.get(value)
            # No such via value (there is no via:voice): nothing is found.
            return lambda ticket: wanted is not None and wanted(
                ticket["via"]["channel"], ticket["via"]["source"]["rel"]
            )
        if keyword in PEOPLE:
            ids = self._people(value, me_id)
            return lambda ticket: ticket[PEOPLE[keyword]] in ids
        if keyword in ("created", "updated"):
            return _dated(f"{keyword}_at", term.operator, _moment(value, now))
        if keyword == "fieldvalue":
            return lambda ticket: any(_same(entry.get("value"), value) for entry in ticket["custom_fields"])
        field_id = int(CUSTOM_FIELD.fullmatch(keyword).group(1))
        return lambda ticket: _custom_field(ticket, field_id, value)

    def _text(self, term: Text) -> Callable[[dict], bool]:
        needle = words(term.value.rstrip("*"))
        number = int(term.value) if term.value.isdigit() and term.field is None else None

        def check(ticket: dict) -> bool:
            if number is not None and ticket["id"] == number:
                return True  # a bare number is also a ticket id
            if term.field is not None:
                return contains(words(ticket[term.field] or ""), needle)
            return contains(self._document(ticket), needle)

        return check

    def _document(self, ticket: dict) -> list[str]:
        """The words plain search looks through: subject, description and every comment."""
        texts = [ticket["subject"] or "", ticket["description"] or ""]
        texts += [comment["plain_body"] or "" for comment in self._state.comments.get(ticket["id"], ())[1:]]
        return words("\n".join(texts))

    def _people(self, value: str, me_id: int) -> set[int | None]:
        """Users named by none, me, an id, an email or a name."""
        if value == "none":
            return {None}
        if value == "me":
            return {me_id}
        if value.isdigit():
            return {int(value)}
        wanted = words(value)
        return {
            user["id"]
            for user in self._state.users.values()
            if (user["email"] or "") == value or contains(words(user["name"] or ""), wanted)
        }


def _ordered(order: tuple[str, ...], name: str, operator: str, value: str) -> Callable[[dict], bool]:
    if value == "none" and operator == ":":
        return lambda ticket: ticket[name] is None
    if value not in order:
        return lambda ticket: False
    rank = order.index(value)
    compare = {
        ":": lambda mine: mine == rank,
        "<": lambda mine: mine < rank,
        "<=": lambda mine: mine <= rank,
        ">": lambda mine: mine > rank,
        ">=": lambda mine: mine >= rank,
    }[operator]
    return lambda ticket: ticket[name] is not None and compare(order.index(ticket[name]))


def _tags(value: str, *, every: bool) -> Callable[[dict], bool]:
    if value == "none":
        return lambda ticket: not ticket["tags"]
    wanted = value.split()

    def has(tags: list[str], tag: str) -> bool:
        return any(mine.startswith(tag[:-1]) for mine in tags) if tag.endswith("*") else tag in tags

    if every:
        return lambda ticket: all(has(ticket["tags"], tag) for tag in wanted)
    return lambda ticket: any(has(ticket["tags"], tag) for tag in wanted)


def _moment(value: str, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end) a date value covers: a whole day for 2026-11-22, an instant otherwise.

    :raises QuerySyntaxError: not a date, a time, or a relative time such as 4hours.
    """
    relative = _RELATIVE.fullmatch(value)
    if relative:
        instant = now - timedelta(seconds=int(relative.group(1)) * _UNITS[relative.group(2)])
        return instant, instant
    if _DAY.fullmatch(value):
        day = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        return day, day + timedelta(days=1)
    try:
        instant = parse_iso(value.upper())
    except ValueError:
        raise QuerySyntaxError(f"{value!r} is not a date, a time or a relative time") from None
    return instant, instant


def _dated(name: str, operator: str, span: tuple[datetime, datetime]) -> Callable[[dict], bool]:
    start, end = span
    instant = start == end
    compare = {
        ":": (lambda when: when == start) if instant else (lambda when: start <= when < end),
        "<": lambda when: when < start,
        "<=": (lambda when: when <= start) if instant else (lambda when: when < end),
        ">": (lambda when: when > start) if instant else (lambda when: when >= end),
        ">=": lambda when: when >= start,
    }[operator]
    return lambda ticket: compare(parse_iso(ticket[name]))


def _same(stored, value: str) -> bool:
    return stored not in (None, "") and str(stored).lower() == value


def _custom_field(ticket: dict, field_id: int, value: str) -> bool:
    stored = next((entry.get("value") for entry in ticket["custom_fields"] if entry["id"] == field_id), None)
    if value == "*":
        return stored not in (None, "", False)
    return _same(stored, value)
