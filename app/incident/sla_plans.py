"""First-response SLA by plan (support guide): Basic < 24 h, Regular < 4 h, Premium < 30 min.

A ticket's plan is its organisation's, read from a tag Zendesk puts on the organisation's new tickets: the
tag the admin names per plan (OUTAGE_DESK_PLAN_TAGS), or the option tag of an organisation drop-down
field (OUTAGE_DESK_PLAN_FIELD, options named after the plans). A ticket with none of them (no
organisation, or one without a plan) is on the default plan (OUTAGE_DESK_DEFAULT_PLAN, Basic).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.config import Config
from app.errors import InputError

TARGETS = {"basic": timedelta(hours=24), "regular": timedelta(hours=4), "premium": timedelta(minutes=30)}


@dataclass(frozen=True)
class Plans:
    """Each plan's ticket tag, and the plan of tickets that carry none."""

    tags: dict[str, str]
    default: str

    def plan_of(self, tags: Iterable[str]) -> str:
        present = set(tags)
        return next((plan for plan, tag in self.tags.items() if tag in present and plan != self.default), self.default)

    @staticmethod
    def target(plan: str) -> timedelta:
        return TARGETS[plan]


def plan_config_problems(config: Config) -> dict[str, str]:
    """What is wrong with the plan settings, whatever the account holds."""
    problems = {}
    if config.outage_desk_default_plan not in TARGETS:
        problems["OUTAGE_DESK_DEFAULT_PLAN"] = f"must be one of {', '.join(TARGETS)}"
    try:
        _parse_tags(config.outage_desk_plan_tags)
    except InputError as error:
        problems["OUTAGE_DESK_PLAN_TAGS"] = str(error)
    return problems


def read_plans(gateway, config: Config) -> Plans:
    """The plans, reading the organisation field from the account when one is named.

    :raises InputError: as plans_from.
    """
    fields = (gateway.list_all("organization_fields.json", "organization_fields")
              if config.outage_desk_plan_field else None)
    return plans_from(config, fields)


def plans_from(config: Config, organization_fields: list[dict] | None) -> Plans:
    """The plans from the configured tags, or from the organisation field's options when one is named.

    :raises InputError: the field does not exist, is not a drop-down, or lacks an option for a plan.
    """
    if not config.outage_desk_plan_field:
        return Plans(_parse_tags(config.outage_desk_plan_tags), config.outage_desk_default_plan)
    wanted = config.outage_desk_plan_field
    found = [f for f in organization_fields or () if wanted in (f.get("key"), f.get("title"), str(f.get("id")))]
    if not found:
        raise InputError(f"no organization field {wanted!r} (OUTAGE_DESK_PLAN_FIELD): create it in Admin Center, "
                         "a drop-down with the options Basic, Regular and Premium, or name the plan tags instead")
    field = found[0]
    if field.get("type") != "dropdown":
        raise InputError(f"the organization field {wanted!r} is a {field.get('type')}, not a drop-down")
    options = {(o.get("name") or "").strip().lower(): o.get("value") for o in field.get("custom_field_options") or ()}
    missing = [plan.title() for plan in TARGETS if not options.get(plan)]
    if missing:
        raise InputError(f"the organization field {wanted!r} has no option named {', '.join(missing)}")
    return Plans({plan: options[plan] for plan in TARGETS}, config.outage_desk_default_plan)


def _parse_tags(text: str) -> dict[str, str]:
    """"basic=plan_basic regular=plan_regular premium=plan_premium" -> {plan: tag}."""
    pairs = dict(item.split("=", 1) for item in text.split() if "=" in item)
    if set(pairs) != set(TARGETS) or len(text.split()) != len(TARGETS) or not all(pairs.values()):
        raise InputError("must name one tag per plan: basic=<tag> regular=<tag> premium=<tag>")
    return pairs


def breach_avoided(plans: Plans, tags: Iterable[str], created_at: datetime, taken_in_at: datetime,
                   released_at: datetime, acknowledged: bool) -> bool:
    """Whether the outage spared this ticket a first-reply breach: its plan's deadline fell while the incident
    held it (the plans' SLA policies leave such tickets out), and the desk had not answered it by then.

    The desk's acknowledgement goes out with the take-in, so an acknowledged ticket met its target (or had
    missed it before the outage: no breach avoided either). A reply an agent typed by hand is not seen
    here, so the count is an upper bound.
    """
    deadline = created_at + Plans.target(plans.plan_of(tags))
    return not acknowledged and taken_in_at <= deadline < released_at
