"""SLA policies as the SLA Policies API stores them, and first reply time measured against them.

Sources: developer.zendesk.com/api-reference/ticketing/business-rules/sla_policies/ (title, description,
position, `filter` with all/any conditions "identical to the conditions property", `policy_metrics` of
priority, metric, target in minutes and business_hours; create places a policy last; reorder takes
`sla_policy_ids`), developer.zendesk.com/documentation/ticketing/reference-guides/conditions-reference/,
and support.zendesk.com/hc/en-us/articles/4408829459866 ("Defining SLA policies": policies are matched
in order and the first that matches applies; first reply time runs from the ticket's creation to its
first public agent comment; a ticket's policy is re-evaluated on each update).

What the sandbox models, and what it does not:
- first_reply_time only, in calendar minutes (business_hours: true is refused: no schedules here);
- the policy in force when the first reply is written decides whether that reply met its target; before
  a reply, the policy the ticket matches now does, so a ticket that leaves every policy (an outage tag
  the filters exclude) has no breach, and one that comes back under a policy is measured from creation;
- a ticket whose priority has no target in its policy, or no priority at all, has no SLA.
Every function here expects the caller to hold `state.lock`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from zendesk_sandbox import rules
from zendesk_sandbox.conditions import TicketUpdate, conditions_hold, evaluated
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.ticket_values import PRIORITIES
from zendesk_sandbox.timefmt import parse_iso
from zendesk_sandbox.validation import Problems

METRICS = ("first_reply_time",)  # the sandbox measures this one; Zendesk has more (see the module doc)


def create_policy(state: SandboxState, spec: dict, *, now: str) -> dict:
    """A new policy, placed last unless a position is given. :raises ApiError: 422 listing every problem."""
    _check(state, spec)
    position = spec.get("position")
    if position is None:
        position = max((p["position"] for p in state.sla_policies.values()), default=0) + 1
    policy = _record(state.next_id("sla_policy"), spec, position, created_at=now, updated_at=now)
    state.sla_policies[policy["id"]] = policy
    return policy


def update_policy(state: SandboxState, stored: dict, spec: dict, *, now: str) -> dict:
    """The policy with the attributes sent replacing the stored ones."""
    merged = {key: spec.get(key, stored[key]) for key in ("title", "description", "filter", "policy_metrics")}
    _check(state, merged)
    policy = _record(stored["id"], merged, spec.get("position", stored["position"]),
                     created_at=stored["created_at"], updated_at=now)
    state.sla_policies[policy["id"]] = policy
    return policy


def reorder(state: SandboxState, ids: Any) -> None:
    """Positions from the order of `sla_policy_ids`, which must name every policy once."""
    problems = Problems()
    if not isinstance(ids, list) or sorted(str(i) for i in ids) != sorted(str(i) for i in state.sla_policies):
        problems.add("sla_policy_ids", "sla_policy_ids must list every SLA policy once")
    problems.raise_record_invalid()
    for position, policy_id in enumerate(ids, start=1):
        state.sla_policies[int(policy_id)]["position"] = position


def ordered(state: SandboxState) -> list[dict]:
    return sorted(state.sla_policies.values(), key=lambda p: (p["position"], p["id"]))


def policy_for(state: SandboxState, ticket: dict) -> dict | None:
    """The first policy, in order, whose filter the ticket matches now."""
    still = TicketUpdate(before=ticket, after=ticket, update_type="Change", actor_id=0, via={}, comment=None)
    return next((p for p in ordered(state) if conditions_hold(state, p["filter"], still)), None)


def target_minutes(policy: dict | None, priority: str | None) -> int | None:
    if policy is None:
        return None
    return next((m["target"] for m in policy["policy_metrics"]
                 if m["metric"] == "first_reply_time" and m["priority"] == priority), None)


def note_reply(state: SandboxState, ticket: dict, comment: dict) -> None:
    """Remember a ticket's first public agent comment after its description, with the policy then in force."""
    if ticket["id"] in state.first_reply or not comment["public"] or not state.is_agent(comment["author_id"]):
        return
    if len(state.comments.get(ticket["id"], ())) <= 1:
        return  # the description itself is no reply
    policy = policy_for(state, ticket)
    state.first_reply[ticket["id"]] = {"at": comment["created_at"], "policy_id": policy["id"] if policy else None,
                                       "priority": ticket.get("priority")}


def breach_at(state: SandboxState, ticket: dict, now: datetime) -> datetime | None:
    """When the ticket's first reply time breached (or None: no SLA, met, or not breached yet)."""
    reply = state.first_reply.get(ticket["id"])
    if reply is not None:
        policy = state.sla_policies.get(reply["policy_id"]) if reply["policy_id"] else None
        target = target_minutes(policy, reply["priority"])
        if target is None:
            return None
        deadline = parse_iso(ticket["created_at"]) + timedelta(minutes=target)
        return deadline if parse_iso(reply["at"]) > deadline else None
    if ticket["status"] in ("solved", "closed"):
        return None  # solved without a reply: Zendesk stops the metric
    target = target_minutes(policy_for(state, ticket), ticket.get("priority"))
    if target is None:
        return None
    deadline = parse_iso(ticket["created_at"]) + timedelta(minutes=target)
    return deadline if deadline <= now else None


def _check(state: SandboxState, spec: dict) -> None:
    problems = Problems()
    if not isinstance(spec.get("title"), str) or not spec["title"].strip():
        problems.add("title", "Title: cannot be blank", "BlankValue")
    if not isinstance(spec.get("filter"), dict):
        problems.add("filter", "Filter: cannot be blank", "BlankValue")
    else:
        rules.check_conditions(state, spec["filter"], problems)
        for group in ("all", "any"):
            for row in spec["filter"].get(group) or ():
                if isinstance(row, dict) and isinstance(row.get("field"), str) and not evaluated(row["field"]):
                    problems.add("filter", f"Filter: the sandbox does not match on {row['field']}")
    metrics = spec.get("policy_metrics") or []
    if not isinstance(metrics, list):
        problems.add("policy_metrics", "Policy metrics: must be a list")
        metrics = []
    for metric in metrics:
        if not isinstance(metric, dict) or metric.get("priority") not in PRIORITIES:
            problems.add("policy_metrics", f"Policy metrics: {metric!r} needs a priority of {', '.join(PRIORITIES)}")
        elif metric.get("metric") not in METRICS:
            problems.add("policy_metrics", f"Policy metrics: the sandbox measures only {', '.join(METRICS)}")
        elif not isinstance(metric.get("target"), int) or isinstance(metric["target"], bool) or metric["target"] <= 0:
            problems.add("policy_metrics", "Policy metrics: target must be a positive number of minutes")
        elif metric.get("business_hours", False) is not False:
            problems.add("policy_metrics", "Policy metrics: the sandbox has no business hours schedule")
    problems.raise_record_invalid()


def _record(policy_id: int, spec: dict, position: int, *, created_at: str, updated_at: str) -> dict:
    conditions = spec["filter"]
    return {
        "id": policy_id,
        "title": spec["title"],
        "description": spec.get("description") or "",
        "position": position,
        "filter": {group: [{"field": r["field"], "operator": r["operator"], "value": r.get("value")}
                           for r in conditions.get(group) or []] for group in ("all", "any")},
        "policy_metrics": [{"priority": m["priority"], "metric": m["metric"], "target": m["target"],
                            "business_hours": False, "target_in_seconds": m["target"] * 60}
                           for m in spec.get("policy_metrics") or []],
        "created_at": created_at,
        "updated_at": updated_at,
    }
