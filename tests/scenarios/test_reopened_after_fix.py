"""Still broken after the fix: the customer answers the closing email, Zendesk reopens the ticket and tells us;
it joins the follow-up outage if one is declared, else it is tagged and the product referent hears once."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest
import requests

from app.clock import SystemClock
from app.incident.reopened import REOPENED_TAG
from app.incident.take_in import taken_tag
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.web import create_app
from app.wiring import build_desk
from app.zendesk.provisioning import Provisioner
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender, wait_until
from tests.scenarios.conftest import desk_config, outage

STILL_BROKEN = "Hello, I got your email but the API still answers 503 for us."


@pytest.fixture
def service(account, tmp_path, channel):
    """The desk with Slack, the account running Outage Desk's triggers as `setup` makes them, and the service's
    webhook endpoint."""
    config = replace(desk_config(account, tmp_path), slack_webhook_url=channel.url)
    desk = build_desk(config)
    provisioner = Provisioner(desk.gateway, config, "http://127.0.0.1:9")
    provisioner.apply(provisioner.plan())
    webhooks = WebhookSender(create_app(config).test_client(), WEBHOOK_SECRET, SystemClock())
    yield desk, webhooks
    desk.sessions.kw["bind"].dispose()


def resolved_ticket(account, desk, webhooks) -> tuple[int, int]:
    """A customer writes in during the outage, which is resolved: their ticket is solved with the closing email."""
    declared = desk.declare(outage(account))
    ticket_id = account.write_in("The API returns 503 errors", email="noor@example.org", name="Noor Haddad")
    webhooks.ticket_event(ticket_id, "ticket.created")
    drain_inbox(desk)
    closing = desk.resolve(desk.incident(declared.incident_id))
    assert closing.resolved
    ticket = account.ticket(ticket_id)
    assert ticket["status"] == "solved" and "outage_desk_closed" in ticket["tags"]
    return declared.incident_id, ticket_id


def customer_replies(account, webhooks, ticket_id: int) -> None:
    """The customer answers the closing email; Zendesk reopens the ticket and its trigger calls Outage Desk."""
    requests.post(f"{account.url}/_sandbox/tickets/{ticket_id}/replies", json={"body": STILL_BROKEN},
                  timeout=10).raise_for_status()
    assert account.ticket(ticket_id)["status"] == "open"
    wait_until(lambda: any(d["ticket_id"] == ticket_id and '"ticket.reopened"' in d["body"]
                           for d in account.state.deliveries))
    delivery = next(d for d in account.state.deliveries
                    if d["ticket_id"] == ticket_id and '"ticket.reopened"' in d["body"])
    # What Zendesk sent, delivered to the service signed.
    assert webhooks.post(delivery["body"].encode(), invocation_id=delivery["invocation_id"]).status_code == 202


def test_a_customer_still_broken_after_the_fix_reopens_the_ticket_tagged_and_the_referent_hears_once(
        account, service, channel):
    desk, webhooks = service
    incident_id, ticket_id = resolved_ticket(account, desk, webhooks)
    before = list(channel.messages)

    customer_replies(account, webhooks, ticket_id)
    drain_inbox(desk)

    assert REOPENED_TAG in account.ticket(ticket_id)["tags"]
    flags = [m for m in channel.messages[len(before):] if f"#{ticket_id}" in m]
    assert len(flags) == 1 and "Still broken after the fix of *API down*" in flags[0]
    assert f"{account.url}/agent/tickets/{ticket_id}" in flags[0]

    webhooks.ticket_event(ticket_id, "ticket.reopened")  # Zendesk delivers it again
    drain_inbox(desk)
    run_tasks(desk)

    assert [m for m in channel.messages[len(before):] if f"#{ticket_id}" in m] == flags
    assert desk.report(desk.incident(incident_id)).summary()["reopened_after_fix"] == 1


def test_a_reopened_ticket_joins_the_follow_up_outage_declared_meanwhile(account, service, channel):
    desk, webhooks = service
    _first, ticket_id = resolved_ticket(account, desk, webhooks)
    # The API fails again: a new outage from now on (the old tickets are not its backfill's).
    again = desk.declare(outage(account, title="API down again", tag="api_down_again",
                                started_at=datetime.now(timezone.utc)))
    before = list(channel.messages)

    customer_replies(account, webhooks, ticket_id)
    drain_inbox(desk)

    ticket = account.ticket(ticket_id)
    assert desk.is_affected(again.incident_id, ticket_id)
    assert {"api_down_again", taken_tag(again.incident_id)} <= set(ticket["tags"])
    assert ticket["problem_id"] == again.problem_ticket_id and ticket["status"] == "open"
    assert REOPENED_TAG not in ticket["tags"]
    assert not [m for m in channel.messages[len(before):] if f"#{ticket_id}" in m]


def test_a_solved_ticket_outside_any_outage_does_not_call_outage_desk(account, service):
    desk, _webhooks = service
    ticket_id = account.write_in("Invoice question")
    account.agent_update(ticket_id, status="solved", assignee_id=account.seed.agent_ids[0])

    requests.post(f"{account.url}/_sandbox/tickets/{ticket_id}/replies", json={"body": "One more thing"},
                  timeout=10).raise_for_status()

    assert account.ticket(ticket_id)["status"] == "open"
    assert not any('"ticket.reopened"' in d["body"] for d in account.state.deliveries)
