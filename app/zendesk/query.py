"""Parse and evaluate the subset of Zendesk's ticket search language that Outage Desk uses.

Pure (no Flask, no I/O): the sandbox answers searches with it, and the app uses it to decide
whether a ticket that arrives by webhook belongs to an incident's query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")
ORDER_FIELDS = ("created_at", "updated_at", "priority", "status", "ticket_type")
# Keyword values Zendesk documents for via:, mapped to what a ticket's via says (see ticket_via).
VIA_VALUES = {
    "mail": "mail",
    "email": "mail",
    "chat": "chat",
    "native_messaging": "native_messaging",
    "voicemail": "voicemail",
    "phone_call_inbound": "phone_call_inbound",
    "phone_call_outbound": "phone_call_outbound",
    "phone": "phone",
    "web": "web",
    "api": "api",
}
_VOICE_RELS = {
    "inbound": "phone_call_inbound",
    "outbound": "phone_call_outbound",
    "voicemail": "voicemail",
}

_TERM = re.compile(
    r"""
    (?P<neg>-)?
    (?:
        (?P<key>[A-Za-z_]+)(?P<op><=|>=|:|<|>)(?:"(?P<qval>[^"]*)"|(?P<val>[^\s"]*))
      | "(?P<phrase>[^"]*)"
      | (?P<word>[^\s"]+)
    )
    (?=\s|$)
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"\w+")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class QueryError(ValueError):
    """A search query that uses syntax or values this parser does not support."""


Test = Callable[[dict, dict | None], bool]


@dataclass(frozen=True)
class Term:
    """One condition of a query; `negated` flips it (the `-` prefix)."""

    text: str
    test: Test
    negated: bool = False


@dataclass
class Query:
    """A parsed search query: every term must hold; `tags:` terms are OR-ed together."""

    source: str
    terms: list[Term] = field(default_factory=list)
    # Each group is one tags: term; a ticket matches if it holds every tag of any group.
    # None stands for tags:none.
    tag_groups: list[frozenset[str] | None] = field(default_factory=list)
    has_type_keyword: bool = False
    order_by: str | None = None
    sort: str | None = None

    def matches(self, ticket: dict, requester: dict | None = None) -> bool:
        """Whether a Zendesk ticket JSON dict (and its requester's user dict) satisfies the query."""
        for term in self.terms:
            if term.test(ticket, requester) == term.negated:
                return False
        if self.tag_groups:
            tags = set(ticket.get("tags") or ())
            return any(_group_matches(group, tags) for group in self.tag_groups)
        return True


def parse(query: str) -> Query:
    """Parse a Zendesk ticket search query.

    :raises QueryError: unknown keyword, bad value, or malformed quoting.
    """
    parsed = Query(source=query)
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        match = _TERM.match(query, pos)
        if match is None:
            raise QueryError(f"malformed search term at: {query[pos : pos + 30]!r} (unbalanced quote?)")
        pos = match.end()
        _add_term(parsed, match)
    return parsed


def ticket_via(ticket: dict) -> set[str]:
    """The via: keyword values a ticket answers to (voice splits on via.source.rel)."""
    via = ticket.get("via") or {}
    channel = via.get("channel")
    if channel == "email":
        return {"mail"}
    if channel == "voice":
        rel = _VOICE_RELS.get(((via.get("source") or {}).get("rel")) or "")
        return {"phone", rel} if rel else {"phone"}
    return {channel} if channel else set()


def _words(text: str) -> tuple[str, ...]:
    """Lower-cased, accent-free word tokens, as the search index would see them."""
    return tuple(_index_text(text).split())


def _add_term(parsed: Query, match: re.Match[str]) -> None:
    negated = bool(match["neg"])
    raw = match.group(0)
    if match["phrase"] is not None:
        _add_text(parsed, raw, match["phrase"], negated, subject_only=False)
    elif match["word"] is not None:
        _add_text(parsed, raw, match["word"], negated, subject_only=False)
    else:
        key, op = match["key"].lower(), match["op"]
        value = match["qval"] if match["qval"] is not None else match["val"]
        if not value:
            raise QueryError(f"{key}{op} needs a value")
        handler = _KEYWORDS.get(key)
        if handler is None:
            raise QueryError(f"unsupported search keyword {key!r} in {raw!r}")
        handler(parsed, raw, op, value, negated)


def _add_text(parsed: Query, raw: str, text: str, negated: bool, *, subject_only: bool) -> None:
    words = _words(text)
    if not words:
        return  # punctuation alone is not indexed, so it constrains nothing
    needle = f" {' '.join(words)} "

    def test(ticket: dict, requester: dict | None) -> bool:
        if needle in _index_text(ticket.get("subject") or ""):
            return True
        return not subject_only and needle in _index_text(ticket.get("description") or "")

    parsed.terms.append(Term(raw, test, negated))


def _require_colon(key: str, op: str) -> None:
    if op != ":":
        raise QueryError(f"{key} only supports ':' (got {key}{op})")


def _kw_tags(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("tags", op)
    group = None if value.lower() == "none" else frozenset(value.lower().split())
    if negated:
        parsed.terms.append(Term(raw, lambda t, r: _group_matches(group, set(t.get("tags") or ())), True))
    else:
        parsed.tag_groups.append(group)


def _group_matches(group: frozenset[str] | None, tags: set[str]) -> bool:
    return not tags if group is None else group <= tags


def _ordinal(name: str, values: tuple[str, ...], *, allow_none: bool):
    def handler(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
        value = value.lower()
        if allow_none and value == "none":
            _require_colon(name, op)
            parsed.terms.append(Term(raw, lambda t, r: t.get(name) is None, negated))
            return
        if value not in values:
            raise QueryError(f"{name} must be one of {', '.join(values)} (got {value!r})")
        rank = values.index(value)
        compare = _COMPARE[op]

        def test(ticket: dict, requester: dict | None) -> bool:
            current = ticket.get(name)
            return current in values and compare(values.index(current), rank)

        parsed.terms.append(Term(raw, test, negated))

    return handler


def _timestamp(name: str):
    attribute = f"{name}_at"

    def handler(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
        low, high = _time_bounds(op, value)

        def test(ticket: dict, requester: dict | None) -> bool:
            stamp = ticket.get(attribute)
            if not stamp:
                return False
            key = _utc_key(stamp)
            return (low is None or low[0] < key or (low[1] and low[0] == key)) and (
                high is None or key < high[0] or (high[1] and key == high[0])
            )

        parsed.terms.append(Term(raw, test, negated))

    return handler


def _time_bounds(op: str, value: str) -> tuple[tuple[str, bool] | None, tuple[str, bool] | None]:
    """(lower, upper) bounds as (canonical UTC string, inclusive) for a created/updated term."""
    if _DATE_ONLY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"invalid date {value!r}") from None
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        first, after = start.strftime(_ISO_FORMAT), (start + timedelta(days=1)).strftime(_ISO_FORMAT)
        # A bare date stands for the whole UTC day.
        return {
            ":": ((first, True), (after, False)),
            ">": ((after, True), None),
            ">=": ((first, True), None),
            "<": (None, (first, False)),
            "<=": (None, (after, False)),
        }[op]
    moment = _utc_key(value, strict=True)
    return {
        ":": ((moment, True), (moment, True)),
        ">": ((moment, False), None),
        ">=": ((moment, True), None),
        "<": (None, (moment, False)),
        "<=": (None, (moment, True)),
    }[op]


def _utc_key(value: str, strict: bool = False) -> str:
    """A timestamp as 'YYYY-MM-DDTHH:MM:SSZ' so that string order is time order."""
    if len(value) == 20 and value.endswith("Z"):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        if strict:
            raise QueryError(f"invalid ISO 8601 time {value!r} (relative times are not supported)") from None
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # Zendesk reads zone-less times as UTC
    return moment.astimezone(timezone.utc).strftime(_ISO_FORMAT)


def _kw_via(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("via", op)
    wanted = VIA_VALUES.get(value.lower())
    if wanted is None:
        hint = " (Zendesk has no via:voice; use via:phone)" if value.lower() == "voice" else ""
        raise QueryError(f"unsupported via value {value!r}{hint}; use one of {', '.join(VIA_VALUES)}")
    parsed.terms.append(Term(raw, lambda t, r: wanted in ticket_via(t), negated))


def _kw_ticket_type(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("ticket_type", op)
    value = value.lower()
    if value not in TICKET_TYPES:
        raise QueryError(f"ticket_type must be one of {', '.join(TICKET_TYPES)} (got {value!r})")
    parsed.terms.append(Term(raw, lambda t, r: t.get("type") == value, negated))


def _kw_assignee(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("assignee", op)
    if value.lower() == "none":
        parsed.terms.append(Term(raw, lambda t, r: t.get("assignee_id") is None, negated))
    elif value.isdigit():
        wanted = int(value)
        parsed.terms.append(Term(raw, lambda t, r: t.get("assignee_id") == wanted, negated))
    else:
        raise QueryError(f"assignee supports only 'none' or a user id (got {value!r})")


def _kw_requester(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("requester", op)
    if value.isdigit():
        wanted_id = int(value)
        parsed.terms.append(Term(raw, lambda t, r: t.get("requester_id") == wanted_id, negated))
    elif "@" in value:
        wanted = value.casefold()
        parsed.terms.append(Term(raw, lambda t, r: bool(r and (r.get("email") or "").casefold() == wanted), negated))
    else:
        raise QueryError(f"requester supports only a user id or an email (got {value!r})")


def _kw_subject(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("subject", op)
    _add_text(parsed, raw, value, negated, subject_only=True)


def _kw_type(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("type", op)
    if value.lower() != "ticket":
        raise QueryError(f"only type:ticket is supported (got type:{value})")
    parsed.has_type_keyword = True
    parsed.terms.append(Term(raw, lambda t, r: True, negated))


def _kw_order_by(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("order_by", op)
    value = {"created": "created_at", "updated": "updated_at"}.get(value.lower(), value.lower())
    if negated or value not in ORDER_FIELDS:
        raise QueryError(f"order_by must be one of {', '.join(ORDER_FIELDS)} (got {raw!r})")
    parsed.order_by = value


def _kw_sort(parsed: Query, raw: str, op: str, value: str, negated: bool) -> None:
    _require_colon("sort", op)
    if negated or value.lower() not in ("asc", "desc"):
        raise QueryError(f"sort must be asc or desc (got {raw!r})")
    parsed.sort = value.lower()


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ":": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

_KEYWORDS = {
    "tags": _kw_tags,
    "tag": _kw_tags,
    "status": _ordinal("status", STATUSES, allow_none=False),
    "priority": _ordinal("priority", PRIORITIES, allow_none=True),
    "created": _timestamp("created"),
    "updated": _timestamp("updated"),
    "via": _kw_via,
    "ticket_type": _kw_ticket_type,
    "assignee": _kw_assignee,
    "requester": _kw_requester,
    "subject": _kw_subject,
    "type": _kw_type,
    "order_by": _kw_order_by,
    "sort": _kw_sort,
}


@lru_cache(maxsize=4096)  # subjects repeat in a flood; a bigger cache only holds memory
def _index_text(text: str) -> str:
    # Space-padded token string, so a word or phrase test is one substring search.
    folded = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " " + " ".join(_WORD.findall(stripped)) + " "
