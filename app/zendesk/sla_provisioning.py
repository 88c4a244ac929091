"""What `setup` makes in Zendesk for the SLA by plan: one SLA policy per plan, the automations that
escalate a breach, and the one that solves tickets left pending for 48 hours.

Zendesk does the work itself: the policies measure first reply time (their filters leave out tickets of
a declared outage, which carry take-in's live tag, so an outage breaks no SLA; resolve removes the tag and
the plan's policy applies again); the automations run hourly, raise a breached ticket's priority one
level (never down: one automation per level), tag it, and call our webhook so the referents hear of it
on Slack. Each escalation requires the breach tag to be absent and adds it, as Zendesk requires an
automation to nullify its own conditions: a ticket is escalated once.

Pending for 48 hours → solved, not closed: a solved ticket still reopens when the customer replies at
last, and Zendesk's own "Close ticket 4 days after status is set to solved" automation closes it; a closed
ticket can never be reopened, so a late answer would start a follow-up without its history.
"""

from __future__ import annotations

import json
from typing import Any

from app.incident.intake import SLA_BREACHED
from app.incident.sla_plans import TARGETS, Plans
from app.incident.take_in import LIVE_TAG

BREACHED_TAG = "outage_desk_sla_breached"
PENDING_HOURS = 48
PRIORITIES = ("low", "normal", "high", "urgent")
_BODY = json.dumps({"ticket_id": "{{ticket.id}}", "event": SLA_BREACHED,
                    "updated_at": "{{ticket.updated_at_with_timestamp}}"})


def policy_title(plan: str) -> str:
    return f"Outage Desk: {plan.title()} plan first reply"


def sla_policies(plans: Plans) -> list[dict[str, Any]]:
    """The plans' policies in match order: the default plan, which matches every ticket left, last."""
    order = [plan for plan in TARGETS if plan != plans.default][::-1] + [plans.default]
    policies = []
    for plan in order:
        rows = [{"field": "current_tags", "operator": "not_includes", "value": LIVE_TAG}]
        if plan != plans.default:
            rows.insert(0, {"field": "current_tags", "operator": "includes", "value": plans.tags[plan]})
        minutes = int(TARGETS[plan].total_seconds() // 60)
        policies.append({
            "title": policy_title(plan),
            "description": (f"{plan.title()} plan: first reply within {minutes} minutes; tickets of a declared "
                            "outage are left out (Outage Desk)."),
            "filter": {"all": rows, "any": []},
            "policy_metrics": [{"priority": priority, "metric": "first_reply_time", "target": minutes,
                                "business_hours": False} for priority in PRIORITIES],
        })
    return policies


def automations() -> list[dict[str, Any]]:
    """The escalation automations, one per priority, and the pending one."""
    found = []
    for level, raised in zip(PRIORITIES, PRIORITIES[1:] + ("urgent",)):
        actions = [] if raised == level else [{"field": "priority", "value": raised}]
        actions += [{"field": "current_tags", "value": BREACHED_TAG},
                    {"field": "notification_webhook", "value": ["$WEBHOOK_ID", _BODY]}]
        found.append({
            "title": f"Outage Desk: SLA breached, {level}" + (f" to {raised}" if raised != level else " stays urgent"),
            "active": True,
            "conditions": {"all": [
                {"field": "status", "operator": "less_than", "value": "solved"},
                {"field": "priority", "operator": "is", "value": level},
                {"field": "sla_next_breach_at", "operator": "greater_than", "value": "0"},
                {"field": "current_tags", "operator": "not_includes", "value": BREACHED_TAG}], "any": []},
            "actions": actions,
        })
    found.append({
        "title": f"Outage Desk: solve after {PENDING_HOURS} h waiting on the customer",
        "active": True,
        "conditions": {"all": [{"field": "status", "operator": "is", "value": "pending"},
                               {"field": "PENDING", "operator": "greater_than", "value": str(PENDING_HOURS)}],
                       "any": []},
        "actions": [{"field": "status", "value": "solved"}],
    })
    return found


def same_policy(desired: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Whether Zendesk holds this policy already; it adds target_in_seconds to each metric, which we ignore."""
    metrics = [{key: metric.get(key) for key in ("priority", "metric", "target", "business_hours")}
               for metric in actual.get("policy_metrics") or ()]
    return (desired["description"] == actual.get("description") and desired["policy_metrics"] == metrics
            and desired["filter"] == {group: [{k: row.get(k) for k in ("field", "operator", "value")}
                                              for row in (actual.get("filter") or {}).get(group) or ()]
                                      for group in ("all", "any")})
