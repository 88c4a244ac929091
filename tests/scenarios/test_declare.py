"""Declaring an outage: every affected ticket is tagged, classified, linked, prioritised and open."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from app.clock import SystemClock
from app.errors import InputError, StateError
from app.jobs.inbox import drain_inbox
from app.web import create_app
from app.wiring import build_desk
from app.zendesk.query import parse
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender
from tests.scenarios.conftest import desk_config, outage, start_account

UNSOLVED = {"new", "open", "pending", "hold"}


def outage_tickets(account):
    """What the runbook says declare must take in, read from the account itself."""
    query = parse("API")
    with account.state.lock:
        return {t["id"] for t in account.state.tickets.values()
                if t["status"] in UNSOLVED and account.state.users[t["requester_id"]]["role"] == "end-user"
                and query.matches(t, account.state.users[t["requester_id"]])}


def test_declare_takes_in_every_outage_ticket_and_leaves_the_rest_alone(account, desk):
    expected = outage_tickets(account)
    before = {t: account.ticket(t) for t in account.state.tickets}
    comments_before = {t: len(account.comments(t)) for t in expected}

    report = desk.declare(outage(account))

    assert report.taken_in == len(expected) > 40
    problem = account.ticket(report.problem_ticket_id)
    assert problem["type"] == "problem" and problem["priority"] == "high"
    cr_tag = "technical_issue__ti_status_wavy"
    for ticket_id in expected:
        ticket = account.ticket(ticket_id)
        assert {"api_down", cr_tag} <= set(ticket["tags"])
        assert {"id": account.seed.contact_reason_field_id, "value": cr_tag} in ticket["custom_fields"]
        assert ticket["status"] == "open"
        assert (ticket["type"], ticket["problem_id"]) == ("incident", report.problem_ticket_id)
        # One comment from Outage Desk per ticket: the acknowledgement where the customer has an email
        # address (it is the outage's history too), else the private "API DOWN" note.
        ours = account.comments(ticket_id)[comments_before[ticket_id]:]
        has_email = bool(account.state.users[ticket["requester_id"]].get("email"))
        assert len(ours) == 1 and ours[0]["public"] is has_email
        assert has_email or ours[0]["body"] == "API DOWN"
    for ticket_id, old in before.items():
        if ticket_id not in expected:
            assert "api_down" not in account.ticket(ticket_id)["tags"]
            assert account.ticket(ticket_id)["status"] == old["status"]
    # The only email is the calm acknowledgement, once, to each customer who has an address.
    acknowledged = [e["ticket_id"] for e in account.state.emails]
    assert sorted(acknowledged) == sorted(t for t in expected
                                          if account.state.users[account.ticket(t)["requester_id"]].get("email"))


def test_with_acknowledgements_off_declare_sends_no_email_and_one_write_per_100_tickets(account, tmp_path):
    expected = outage_tickets(account)
    desk = build_desk(replace(desk_config(account, tmp_path), outage_desk_ack_macro="off"))
    try:
        report = desk.declare(outage(account))
    finally:
        desk.sessions.kw["bind"].dispose()

    assert report.taken_in == len(expected)
    assert account.state.emails == []
    assert account.state.stats()["by_endpoint"]["PUT /api/v2/tickets/update_many"] == -(-len(expected) // 100)


def test_a_referent_zendesk_does_not_know_stops_declare_before_any_write(account, tmp_path):
    desk = build_desk(replace(desk_config(account, tmp_path), outage_desk_referent="nobody@nowhere.test"))
    before = len(account.state.tickets)
    try:
        with pytest.raises(InputError, match="nobody@nowhere.test"):
            desk.declare(outage(account))
        assert desk.active_incidents() == []  # the admin can fix the setting and declare again
    finally:
        desk.sessions.kw["bind"].dispose()

    assert len(account.state.tickets) == before  # no problem ticket either
    assert not any("api_down" in t["tags"] for t in account.state.tickets.values())


# Not about indexing: its tickets are written just before declare with no webhook, so only search finds them.
@pytest.mark.index_delay(0)
def test_priority_is_raised_to_the_more_urgent_level_and_never_lowered(account, desk):
    impact = account.seed.business_impact_field_id
    low_but_blocked = account.write_in("API returns 503", priority="low",
                                       custom_fields=[{"id": impact, "value": "impact_1"}])
    already_urgent = account.write_in("API is down", priority="urgent")
    no_priority = account.write_in("Is the API down?")
    on_trial = account.write_in("API down during our trial", email="trial@example.org")
    with account.state.lock:  # flagged in Zendesk as a customer in trial
        account.state.users[account.ticket(on_trial)["requester_id"]]["tags"] = ["new_customer"]

    desk.declare(outage(account, severity=3))

    assert account.ticket(low_but_blocked)["priority"] == "urgent"  # its own impact level 1 wins
    assert account.ticket(already_urgent)["priority"] == "urgent"  # never lowered to the incident's 3
    assert account.ticket(no_priority)["priority"] == "normal"  # the incident's level 3
    assert account.ticket(on_trial)["priority"] == "high"  # a new customer: one level above


def test_a_second_incident_with_the_same_tag_is_refused(account, desk):
    desk.declare(outage(account))
    with pytest.raises(StateError, match="already active"):
        desk.declare(outage(account, title="API down again"))
    assert len(desk.active_incidents()) == 1


def test_declare_finds_every_ticket_past_the_search_cap(tmp_path):
    account = start_account(tickets=1500, rate_limit=2500)
    try:
        expected = outage_tickets(account)
        assert len(expected) > 1000
        report = build_desk(desk_config(account, tmp_path)).declare(outage(account))
        assert report.taken_in == len(expected)
        assert all("api_down" in account.ticket(t)["tags"] for t in expected)
        calls = account.state.stats()["by_endpoint"]
        # One write per ticket, its acknowledgement included, in full batches of 100 across pages.
        floor = -(-len(expected) // 100)
        assert floor <= calls["PUT /api/v2/tickets/update_many"] <= floor + 1
    finally:
        account.server.shutdown()


def test_attach_takes_in_a_ticket_by_hand_and_says_which_ids_do_not_exist(account, desk):
    report = desk.declare(outage(account))
    unrelated = account.write_in("My invoice is wrong")

    taken, failed = desk.attach(desk.incident(report.incident_id), [unrelated, 424242])

    assert taken == 1 and set(failed) == {424242}
    ticket = account.ticket(unrelated)
    assert "api_down" in ticket["tags"] and ticket["problem_id"] == report.problem_ticket_id


def test_tickets_search_has_not_indexed_yet_are_still_taken_in(tmp_path):
    account = start_account(tickets=40, index_delay=600)  # search lags ten minutes behind
    try:
        desk = build_desk(desk_config(account, tmp_path))
        webhooks = WebhookSender(create_app(desk_config(account, tmp_path)).test_client(), WEBHOOK_SECRET,
                                 SystemClock())
        two_minutes_ago = (datetime.now(timezone.utc) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        swept = account.write_in("API down for us too", created_at=two_minutes_ago)
        announced = account.write_in("API 503 since a minute")
        webhooks.ticket_event(announced)  # came in before anyone declared
        assert drain_inbox(desk).ignored == 1

        desk.declare(outage(account))
        drain_inbox(desk)

        assert "api_down" in account.ticket(swept)["tags"]  # found by the incremental export
        assert "api_down" in account.ticket(announced)["tags"]  # its early webhook was looked at again
    finally:
        account.server.shutdown()


# Not about indexing: it checks the backfill takes in a ticket it can already find.
@pytest.mark.index_delay(0)
def test_a_webhook_arriving_while_declare_takes_tickets_in_waits_and_the_customer_hears_once(account, desk,
                                                                                             tmp_path):
    webhooks = WebhookSender(create_app(desk_config(account, tmp_path)).test_client(), WEBHOOK_SECRET,
                             SystemClock())
    incident = desk.open_incident(outage(account), claim_backfill=True)  # declare has begun
    ticket_id = account.write_in("API down here as well")
    webhooks.ticket_event(ticket_id)

    assert drain_inbox(desk).events == 0  # the worker leaves it to the backfill for now
    desk.backfill(incident)
    report = drain_inbox(desk)

    assert report.events == 1 and report.taken_in == 0  # already in, by the backfill
    assert len(account.state.emails_for(ticket_id)) == 1
    assert len(account.comments(ticket_id)) == 2  # hers, and the acknowledgement
