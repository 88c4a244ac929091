"""Act four: the status page declares and resolves. Statuspage posts its incident webhook to the URL
`outage-desk status-webhook` printed; the worker acts on each delivery once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import requests

from app.demo.stage import Stage, wait
from app.incident.model import State
from app.store.secrets import SecretBox
from app.store.settings import STATUS_WEBHOOK_TOKEN, load_secret

# What the admin mapped: the status page's "Checkout" component is this outage.
STATUS_COMPONENTS = json.dumps({"Checkout": {"tag": "checkout_down", "query": "checkout"}})
CUSTOMERS = (("de", "Checkout funktioniert nicht"), ("ru", "Checkout не работает"), ("en-US", "Checkout broken"))


def play_status_page(stage: Stage) -> None:
    desk, figures = stage.desk, stage.figures
    figures.section("Act four: the status page declares and resolves")
    token = load_secret(desk.sessions, SecretBox(desk.config.outage_desk_secret_key), STATUS_WEBHOOK_TOKEN)
    hook = f"{stage.service.url}/webhooks/status/{token}"
    investigating = _statuspage_incident("investigating")
    first, again = (requests.post(hook, json=investigating, timeout=10) for _ in range(2))
    wrong = requests.post(f"{stage.service.url}/webhooks/status/not-the-token", json=investigating, timeout=10)
    figures.add("\"investigating\" posted, then redelivered; with a wrong token",
                f"{first.status_code}, {again.status_code} {again.json().get('status', '')}; {wrong.status_code}",
                (first.status_code, again.status_code, wrong.status_code) == (202, 200, 401))
    wait(lambda: _incident(desk) is not None, timeout=30)
    incident = _incident(desk)
    if incident is None:
        figures.add("Declared by the status page", "never", False)
        return
    tickets = [stage.new_ticket({"subject": subject, "description": subject, "channel": "email",
                                 "requester": {"name": f"Checkout client {n}", "email": f"checkout-{n}@example.org",
                                               "locale": language}})
               for n, (language, subject) in enumerate(CUSTOMERS)]
    wait(lambda: desk.progress(incident.id).taken >= len(tickets), timeout=60)
    figures.add("Declared by the status page; customers' tickets taken in",
                f"#{incident.id} ({incident.kind}); {desk.progress(incident.id).taken} / {len(tickets)}",
                desk.progress(incident.id).taken == len(tickets))
    mark = stage.outbox()
    resolved = requests.post(hook, json=_statuspage_incident("resolved"), timeout=10)
    wait(lambda: desk.incident(incident.id).state == State.RESOLVED, timeout=60)
    emails = stage.emails_since(mark)
    per_ticket = Counter(emails[t] for t in tickets)
    figures.add("\"resolved\" posted: closing emails per ticket (count of tickets)",
                ", ".join(f"{n}: {count}" for n, count in sorted(per_ticket.items())),
                resolved.status_code == 202 and set(per_ticket) == {1})
    told = stage.slack.saying("Status page")
    figures.add("Slack heard each step", len(told), len(told) >= 2)


def _incident(desk):
    found = [i for i in desk.active_incidents() + [desk.latest_incident()] if i and i.tag == "checkout_down"]
    return found[0] if found else None


def _statuspage_incident(status: str) -> dict:
    """Statuspage's incident webhook body, as its documentation shows it."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    component = {"id": "chk1", "name": "Checkout", "status": "major_outage", "page_id": "pg1"}
    return {"meta": {"unsubscribe": "https://status.example.com/?unsubscribe=x", "generated_at": now},
            "page": {"id": "pg1", "status_indicator": "major", "status_description": "Partial System Outage"},
            "incident": {"id": "demo-checkout", "name": "Checkout failures", "status": status, "impact": "major",
                         "created_at": now, "updated_at": now, "components": [component],
                         "incident_updates": [{"id": f"upd-{status}", "status": status, "body": "We are on it.",
                                               "created_at": now, "affected_components": [
                                                   {"code": "chk1", "name": "Checkout", "old_status": "operational",
                                                    "new_status": "major_outage"}]}]}}
