"""Which status page components Outage Desk acts on, and the incident each one declares.

The admin maps components, by the name the status page shows (or its id), to an incident's tag and
search query in OUTAGE_DESK_STATUS_COMPONENTS, a JSON object:

    {"API": {"tag": "api_down", "query": "API"},
     "Checkout": {"tag": "checkout_down", "query": "checkout OR payment", "severity": 1}}

OUTAGE_DESK_STATUS_RESOLVE says what the status page's "resolved" does: "auto" (start the resolve) or
"confirm" (wait for an admin or the product referent to confirm it in the sidebar).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import ConfigError
from app.incident.model import PRIORITY_BY_LEVEL, TAG_PATTERN
from app.zendesk.query import QueryError, parse

if TYPE_CHECKING:
    from app.config import Config

COMPONENTS_VARIABLE = "OUTAGE_DESK_STATUS_COMPONENTS"
RESOLVE_VARIABLE = "OUTAGE_DESK_STATUS_RESOLVE"
RESOLVE_CHOICES = ("auto", "confirm")
DEFAULT_SEVERITY = 2


@dataclass(frozen=True)
class ComponentRule:
    """One mapped component: the incident its outage is."""

    component: str  # as the admin wrote it
    tag: str
    query: str
    severity: int = DEFAULT_SEVERITY


class ComponentMap:
    """The admin's mapping, matched by component name or id, whatever the case."""

    def __init__(self, rules: list[ComponentRule]):
        self._rules = {rule.component.casefold(): rule for rule in rules}

    @classmethod
    def from_json(cls, text: str | None) -> ComponentMap:
        """:raises ConfigError: not a JSON object of rules, each with a usable tag and query."""
        if not text:
            return cls([])
        try:
            data = json.loads(text)
        except ValueError:  # not JSON, or a number Python refuses to read (over 4300 digits)
            raise ConfigError(COMPONENTS_VARIABLE, "is not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError(COMPONENTS_VARIABLE, 'must be a JSON object: {"<component>": {"tag": …, "query": …}}')
        return cls([_rule(name, value) for name, value in data.items()])

    def __bool__(self) -> bool:
        return bool(self._rules)

    def matching(self, names: list[str]) -> list[str]:
        """The mapped components among these names and ids, as the mapping spells them, once each."""
        found: dict[str, None] = {}
        for name in names:
            rule = self._rules.get(name.casefold())
            if rule is not None:
                found[rule.component] = None
        return list(found)

    def rules_for(self, components: list[str]) -> list[ComponentRule]:
        """One rule per incident tag: two components of one outage declare it once."""
        rules: dict[str, ComponentRule] = {}
        for component in components:
            rule = self._rules.get(component.casefold())
            if rule is not None:
                rules.setdefault(rule.tag, rule)
        return list(rules.values())


def _rule(name: str, value: object) -> ComponentRule:
    where = f"component {name!r}"
    if not isinstance(value, dict):
        raise ConfigError(COMPONENTS_VARIABLE, f'maps {where} to something else than {{"tag": …, "query": …}}')
    tag, query, severity = value.get("tag"), value.get("query"), value.get("severity", DEFAULT_SEVERITY)
    if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
        raise ConfigError(COMPONENTS_VARIABLE, f"gives {where} no tag, or one with spaces or commas")
    if not isinstance(query, str) or not query.strip():
        raise ConfigError(COMPONENTS_VARIABLE, f"gives {where} no search query")
    try:
        parse(query)
    except QueryError as error:
        raise ConfigError(COMPONENTS_VARIABLE, f"gives {where} a search query that cannot be used: {error}") from None
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in PRIORITY_BY_LEVEL:
        raise ConfigError(COMPONENTS_VARIABLE, f"gives {where} a severity that is not 1 to 4")
    return ComponentRule(component=name, tag=tag, query=query, severity=severity)


def status_page_problems(config: Config) -> dict[str, str]:
    """What is wrong with the status page settings, by variable (for Config.wrong)."""
    problems = {}
    try:
        ComponentMap.from_json(config.outage_desk_status_components)
    except ConfigError as error:
        problems.update(error.problems)
    if config.outage_desk_status_resolve not in RESOLVE_CHOICES:
        problems[RESOLVE_VARIABLE] = "must be auto or confirm"
    return problems

