"""SLA by plan, aftercare and ticket hygiene: a Premium organisation's call during act two breaks no SLA; after
it, the organisation's next ticket is raised (aftercare) and, unanswered past its plan's target, escalated by
Zendesk's own automations; a customer who posts a key has it redacted and gets one kind note."""

from __future__ import annotations

from datetime import timedelta

import requests

from app.demo.stage import Stage, wait
from app.incident.reopened import REOPENED_TAG
from app.incident.take_in import LIVE_TAG
from app.zendesk.sla_provisioning import BREACHED_TAG

PLAN_FIELD = "plan"
PREMIUM_OPS, PREMIUM_CTO = "ops@bigco.example", "cto@bigco.example"
STRIPE_KEY = "sk_live_51NzQpLx8RvT2mKd9WcYb3HsFjA7eUq4G"


def plans_and_organisations(sandbox_url: str) -> int:
    """What the admin has in Zendesk before `setup`: an organisation drop-down of plans, and a Premium
    organisation with two people; returns the organisation's id."""
    requests.post(f"{sandbox_url}/_sandbox/organization_fields", timeout=10, json={
        "key": PLAN_FIELD, "title": "Plan",
        "options": [["Basic", "plan_basic"], ["Regular", "plan_regular"], ["Premium", "plan_premium"]]},
    ).raise_for_status()
    created = requests.post(f"{sandbox_url}/_sandbox/organizations", timeout=10, json={
        "name": "BigCo", "organization_fields": {PLAN_FIELD: "plan_premium"},
        "members": [{"email": PREMIUM_OPS, "name": "BigCo Ops"}, {"email": PREMIUM_CTO, "name": "BigCo CTO"}]})
    created.raise_for_status()
    return created.json()["id"]


def premium_call_during_the_outage(stage: Stage, incident_id: int, organisation_id: int, subject: str) -> int:
    """A Premium customer calls about the outage and leaves no email: nobody replies in writing. Zendesk's
    automations, run as of 40 minutes later, escalate nothing: the outage's tag keeps it out of every policy."""
    desk, figures = stage.desk, stage.figures
    call = stage.new_ticket({"subject": subject, "description": "Voicemail: login page blank for all our staff.",
                             "channel": "voice", "priority": "normal", "organization_id": organisation_id,
                             "requester": {"name": "+33 6 12 34 56 78", "phone": "+33612345678", "locale": "fr"}})
    # Taken in, not merely recorded: the outage's tag is on the ticket once the take-in has landed.
    wait(lambda: LIVE_TAG in stage.ticket(call)["tags"], timeout=30)
    later = (stage.clock.now() + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    requests.post(f"{stage.sandbox_url}/_sandbox/automations/run", json={"at": later}, timeout=10).raise_for_status()
    breached = BREACHED_TAG in stage.ticket(call)["tags"]
    figures.add("Premium call during the outage (30-min target, no written reply): escalated 40 min on?",
                "yes" if breached else "no: the outage's tag keeps it out of every SLA policy",
                desk.is_affected(incident_id, call) and LIVE_TAG in stage.ticket(call)["tags"] and not breached)
    return call


def the_same_customer_calls(stage: Stage, first: int, phone: str, subject: str) -> int:
    """A customer who wrote in also calls: Zendesk files the call under the same person (their phone), and the
    worker merges it into their first ticket, with a private note on each."""
    call = stage.new_ticket({"subject": subject, "description": "Voicemail: the login page is still blank.",
                             "channel": "voice", "requester": {"phone": phone}})
    wait(lambda: stage.ticket(call)["status"] == "closed", timeout=30)
    merges = stage.stats()["by_endpoint"].get("POST /api/v2/tickets/{ticket_id}/merge", 0)
    stage.figures.add("The same customer calls too: merged into their first ticket (merge calls)",
                      f"#{call} {stage.ticket(call)['status']} → #{first} ({merges})",
                      stage.ticket(call)["status"] == "closed" and merges == 1)
    return call


def still_broken_after_the_fix(stage: Stage, ticket_id: int) -> None:
    """A customer answers the closing email that it still does not work: reopened, tagged, the referent told."""
    told = len(stage.slack.saying("Still broken after the fix"))
    requests.post(f"{stage.sandbox_url}/_sandbox/tickets/{ticket_id}/replies", timeout=10,
                  json={"body": "Still broken here, the page is blank again."}).raise_for_status()
    wait(lambda: REOPENED_TAG in stage.ticket(ticket_id)["tags"]
         and len(stage.slack.saying("Still broken after the fix")) > told, timeout=30)
    after = stage.ticket(ticket_id)
    flagged = len(stage.slack.saying("Still broken after the fix")) - told
    stage.figures.add("\"Still broken\" after the closing email: reopened, tagged, referent told on Slack",
                      f"{after['status']}, {'tagged' if REOPENED_TAG in after['tags'] else 'not tagged'}, {flagged}",
                      after["status"] == "open" and REOPENED_TAG in after["tags"] and flagged == 1)


def after_the_outage(stage: Stage, organisation_id: int) -> None:
    """The Premium organisation the outage hurt writes again, and nobody answers for 31 minutes."""
    figures = stage.figures
    created = (stage.clock.now() - timedelta(minutes=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticket = stage.new_ticket({"subject": "Export to CSV times out", "description": "Our nightly export times out.",
                               "channel": "email", "priority": "normal", "created_at": created,
                               "organization_id": organisation_id,
                               "requester": {"name": "BigCo CTO", "email": PREMIUM_CTO, "locale": "en-US"}})
    wait(lambda: stage.ticket(ticket)["priority"] != "normal", timeout=30)
    banner = stage.sidebar(stage.agent_id)("GET", "/state", params={"ticket_id": ticket}).json()["aftercare"]
    figures.add("Aftercare: a new ticket from the organisation act two hurt (priority; the agent's banner)",
                f"normal → {stage.ticket(ticket)['priority']}; {'shown' if banner else 'none'}",
                stage.ticket(ticket)["priority"] == "high" and bool(banner))
    told = len(stage.slack.saying("SLA breached"))
    requests.post(f"{stage.sandbox_url}/_sandbox/automations/run", json={}, timeout=10).raise_for_status()
    wait(lambda: len(stage.slack.saying("SLA breached")) > told, timeout=30)
    after = stage.ticket(ticket)
    figures.add("Unanswered 31 min with no outage (Premium, 30-min target): escalated by Zendesk; referents told",
                f"high → {after['priority']}; {len(stage.slack.saying('SLA breached')) - told} Slack message",
                after["priority"] == "urgent" and BREACHED_TAG in after["tags"]
                and len(stage.slack.saying("SLA breached")) - told == 1)

    mark = stage.outbox()
    requests.post(f"{stage.sandbox_url}/_sandbox/tickets/{ticket}/replies", timeout=10,
                  json={"body": f"Here is our live key if it helps: {STRIPE_KEY}"}).raise_for_status()
    wait(lambda: STRIPE_KEY not in _comments(stage, ticket) and stage.emails_since(mark)[ticket] >= 1, timeout=30)
    kept = f"{STRIPE_KEY[:8]}…{STRIPE_KEY[-4:]}"
    notes = stage.emails_since(mark)[ticket]
    figures.add("A live Stripe key posted by the customer: left in the comment; kind notes sent",
                f"{'still there' if STRIPE_KEY in _comments(stage, ticket) else 'only ' + kept}; {notes}",
                STRIPE_KEY not in _comments(stage, ticket) and notes == 1)


def _comments(stage: Stage, ticket_id: int) -> str:
    answer = requests.get(f"{stage.sandbox_url}/api/v2/tickets/{ticket_id}/comments.json", auth=stage.auth, timeout=10)
    answer.raise_for_status()
    return "\n".join(comment.get("body") or "" for comment in answer.json()["comments"])
