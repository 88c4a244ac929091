"""Zendesk's search query language, read into terms: words, "phrases", keyword<op>value, `-` negation.

Written from Zendesk's own pages, not from Outage Desk's parser, so the two can disagree:
https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/ (query basics),
https://support.zendesk.com/hc/en-us/articles/4408886879258 (Zendesk Support search reference),
https://support.zendesk.com/hc/en-us/articles/4408835086106 (Using Zendesk Support advanced search).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = ("<=", ">=", ":", "<", ">")
# Ticket keywords the sandbox evaluates; Zendesk has more (group, organization, commenter, cc, brand, ...).
KEYWORDS = frozenset(
    {"type", "status", "priority", "ticket_type", "tags", "via", "assignee", "requester", "submitter",
     "created", "updated", "subject", "description", "fieldvalue", "order_by", "sort"}
)
CUSTOM_FIELD = re.compile(r"custom_field_(\d+)")
_PROPERTY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(<=|>=|:|<|>)(.*)", re.DOTALL)
# "created" and "updated" are the documented order_by names; the API's sort_by names are accepted too.
ORDER_BY = {"created": "created_at", "created_at": "created_at", "updated": "updated_at",
            "updated_at": "updated_at", "priority": "priority", "status": "status", "ticket_type": "ticket_type"}


class QuerySyntaxError(ValueError):
    """A query the sandbox cannot read (or reads but does not support); Zendesk answers such with 400."""


@dataclass(frozen=True)
class Text:
    """Free text: a word (matches words it starts) or a quoted phrase; `field` narrows it to subject/description."""

    value: str
    phrase: bool
    negated: bool = False
    field: str | None = None


@dataclass(frozen=True)
class Property:
    """keyword<op>value, e.g. status<solved or tags:"a b" (quoted: every tag)."""

    keyword: str
    operator: str
    value: str
    quoted: bool
    negated: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    source: str
    terms: tuple[Text | Property, ...]
    order_by: str | None
    sort: str | None

    @property
    def has_type_keyword(self) -> bool:
        """Whether the query says type:..., which search export refuses."""
        return any(isinstance(term, Property) and term.keyword == "type" for term in self.terms)


def parse_query(source: str) -> ParsedQuery:
    """Read a query string.

    :raises QuerySyntaxError: an unsupported keyword or operator, or a bad order_by/sort value.
    """
    terms: list[Text | Property] = []
    order_by = sort = None
    for negated, raw in _chunks(source):
        term = _term(raw, negated)
        if term is None:
            continue
        if isinstance(term, Property) and term.keyword == "order_by":
            if term.value.lower() not in ORDER_BY:
                raise QuerySyntaxError(f"order_by:{term.value} is not one of {', '.join(ORDER_BY)}")
            order_by = ORDER_BY[term.value.lower()]
        elif isinstance(term, Property) and term.keyword == "sort":
            if term.value.lower() not in ("asc", "desc"):
                raise QuerySyntaxError("sort must be asc or desc")
            sort = term.value.lower()
        else:
            terms.append(term)
    return ParsedQuery(source, tuple(terms), order_by, sort)


def _chunks(source: str):
    """(negated, chunk) for each space-separated chunk; a quoted part may hold spaces."""
    position, size = 0, len(source)
    while position < size:
        if source[position].isspace():
            position += 1
            continue
        negated = source[position] == "-" and position + 1 < size and not source[position + 1].isspace()
        position += negated
        start = position
        while position < size and not source[position].isspace():
            if source[position] == '"':
                # An unclosed quote runs to the end of the query.
                closing = source.find('"', position + 1)
                position = size if closing < 0 else closing + 1
            else:
                position += 1
        yield negated, source[start:position]


def _term(raw: str, negated: bool) -> Text | Property | None:
    if raw.startswith('"'):
        phrase = raw.strip('"').strip()
        return Text(phrase, phrase=True, negated=negated) if phrase else None
    match = _PROPERTY.fullmatch(raw)
    if match is None or match.group(1).startswith("_"):
        value = raw.replace('"', "").strip()
        return Text(value, phrase=False, negated=negated) if value else None
    keyword, operator, value = match.group(1).lower(), match.group(2), match.group(3)
    if keyword not in KEYWORDS and not CUSTOM_FIELD.fullmatch(keyword):
        raise QuerySyntaxError(f"the sandbox does not support the {keyword} keyword")
    quoted = value.startswith('"')
    value = value.strip('"').strip()
    if not value:
        raise QuerySyntaxError(f"{keyword}{operator} needs a value")
    if keyword in ("subject", "description"):
        if operator != ":":
            raise QuerySyntaxError(f"{keyword} takes only ':'")
        return Text(value, phrase=quoted, negated=negated, field=keyword)
    if operator != ":" and keyword not in ("status", "priority", "created", "updated"):
        raise QuerySyntaxError(f"{keyword} takes only ':'")
    return Property(keyword, operator, value, quoted, negated)
