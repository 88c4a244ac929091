"""The exact writes Zendesk receives when a ticket is taken in and when it is closed."""

import json
from datetime import datetime, timezone

import pytest
import responses

from app.incident.model import IncidentSpec
from app.incident.service import OutageDesk
from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway

API = "https://acme.zendesk.com/api/v2"
CR_FIELD, IMPACT_FIELD, REFERENT, AGENT, PROBLEM = 81001, 81002, 100002, 100003, 555
TICKET = {"id": 42, "status": "pending", "priority": "low", "requester_id": 7, "assignee_id": None,
          "subject": "API 503", "description": "The API is down", "tags": ["vip"],
          "custom_fields": [{"id": IMPACT_FIELD, "value": "impact_1"}], "via": {"channel": "email"},
          "created_at": "2026-11-22T10:05:00Z", "updated_at": "2026-11-22T10:06:00Z"}
REQUESTER = {"id": 7, "name": "Amélie Durand", "email": "amelie@example.fr", "locale": "fr", "role": "end-user"}


@pytest.fixture
def desk(config, sessions, clock):
    rate_limit = RateLimitState()
    return OutageDesk(config.with_overrides(outage_desk_referent=str(REFERENT)), sessions,
                      ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock), clock)


def account_objects():
    responses.get(f"{API}/ticket_fields.json", json={"ticket_fields": [
        {"id": CR_FIELD, "title": "Contact reason", "type": "tagger", "custom_field_options": [
            {"id": 1, "name": "Technical Issue::TI/Status Wavy", "value": "technical_issue__ti_status_wavy"}]},
        {"id": IMPACT_FIELD, "title": "Business impact", "type": "tagger", "custom_field_options": [
            {"id": 2, "name": "1 - Cannot use the product", "value": "impact_1"}]}]})
    responses.get(f"{API}/users/{REFERENT}.json", json={"user": {"id": REFERENT, "name": "Camille", "role": "agent",
                                                                 "email": "referent@example.com"}})


MACROS = {"macros": [
    {"id": 7, "title": "Outage Desk acknowledgement (fr)", "active": True, "actions": [
        {"field": "comment_value", "value": "Bonjour {{ticket.requester.first_name}}, nos développeurs sont dessus."},
        {"field": "comment_mode_is_public", "value": "true"}]},
    {"id": 9, "title": "Outage Desk closing (fr)", "active": True, "actions": [
        {"field": "comment_value", "value": ["channel:all", "Bonjour {{ticket.requester.first_name}}, c'est réparé."]},
        {"field": "comment_mode_is_public", "value": "true"}, {"field": "status", "value": "solved"}]},
    {"id": 8, "title": "Outage Desk closing (en)", "active": True, "actions": [
        {"field": "comment_value", "value": "Hi {{ticket.requester.first_name}}, it is fixed."}]}],
    "meta": {"has_more": False}, "links": {}}


def nothing_newer():
    """The incremental export's sweep finds no ticket search has not indexed yet."""
    responses.get(f"{API}/incremental/tickets/cursor.json", json={"tickets": [], "end_of_stream": True,
                                                                 "after_url": None})


def job_done(ticket_ids):
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": {"id": "j1", "status": "queued"}})
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [{"id": "j1", "status": "completed",
        "results": [{"id": t, "action": "update", "status": "Updated", "success": True} for t in ticket_ids]}]})


def outage_desk_triggers():
    """The account's "ticket updated" trigger, off outside an outage, as setup leaves it."""
    responses.get(f"{API}/triggers.json", json={"triggers": [
        {"id": 31, "title": "Outage Desk: ticket updated", "active": False}], "meta": {"has_more": False}, "links": {}})
    responses.put(f"{API}/triggers/31.json", json={"trigger": {"id": 31, "title": "Outage Desk: ticket updated"}})


def an_account_with_one_outage_ticket():
    """Zendesk as declare finds it: our fields, macros and triggers, and ticket 42 matching the query."""
    account_objects()
    outage_desk_triggers()
    responses.get(f"{API}/tickets.json", json={"tickets": []})  # no problem ticket made for it yet
    responses.post(f"{API}/tickets.json", status=201, json={"ticket": {"id": PROBLEM}, "audit": {"id": 1, "events": []}})
    responses.get(f"{API}/search/export.json", json={"results": [dict(TICKET, result_type="ticket")],
                                                    "users": [REQUESTER], "meta": {"has_more": False}, "links": {}})
    responses.get(f"{API}/macros/active.json", json=MACROS)
    nothing_newer()
    job_done([42])


def put_bodies():
    """What the bulk writes carried."""
    return [json.loads(c.request.body) for c in responses.calls
            if c.request.method == "PUT" and "update_many" in c.request.url]


@responses.activate
def test_a_ticket_taken_in_gets_tag_cr_acknowledgement_link_priority_and_open_in_one_write(desk):
    an_account_with_one_outage_ticket()

    desk.declare(IncidentSpec(title="API down", query="API", severity=3,
                              started_at=datetime(2026, 11, 22, 10, tzinfo=timezone.utc)))

    problem = json.loads(next(c for c in responses.calls if c.request.method == "POST").request.body)["ticket"]
    assert (problem["type"], problem["priority"], problem["comment"]["public"]) == ("problem", "normal", False)
    # One update carries it all: she gets the runbook's calm acknowledgement (in her language, from the
    # product referent) instead of the private note, with the markers that make it happen once.
    assert put_bodies() == [{"tickets": [{
        "id": 42, "additional_tags": ["api_down", "outage_desk_live", "outage_desk_in_1", "outage_desk_acknowledged"],
        "custom_fields": [{"id": CR_FIELD, "value": "technical_issue__ti_status_wavy"}],
        "comment": {"body": "Bonjour {{ticket.requester.first_name}}, nos développeurs sont dessus.", "public": True,
                    "author_id": REFERENT},
        "type": "incident", "problem_id": PROBLEM, "status": "open",
        "safe_update": True, "updated_stamp": "2026-11-22T10:06:00Z", "priority": "urgent"}]}]
    # And the "ticket updated" trigger is switched on for the outage.
    switched = [json.loads(c.request.body) for c in responses.calls if c.request.url.endswith("/triggers/31.json")]
    assert switched == [{"trigger": {"active": True}}]


@responses.activate
def test_the_closing_reply_is_the_macro_written_by_the_referent_with_a_ledger_tag_and_safe_update(desk, sessions):
    an_account_with_one_outage_ticket()
    report = desk.declare(IncidentSpec(title="API down", query="API",
                                       started_at=datetime(2026, 11, 22, 10, tzinfo=timezone.utc)))
    responses.get(f"{API}/tickets/show_many.json", json={"tickets": [dict(TICKET, status="open")], "users": [REQUESTER]})
    job_done([42])
    job_done([PROBLEM])

    desk.resolve(desk.incident(report.incident_id))

    closing = put_bodies()[1]["tickets"]
    assert closing == [{
        "id": 42, "safe_update": True, "updated_stamp": "2026-11-22T10:06:00Z", "remove_tags": ["outage_desk_live"],
        "comment": {"body": "Bonjour {{ticket.requester.first_name}}, c'est réparé.", "public": True,
                    "author_id": REFERENT},
        "additional_tags": [f"outage_desk_closed_{report.incident_id}", "outage_desk_closed"], "status": "solved",
        "assignee_id": REFERENT}]
    solve_problem = put_bodies()[2]["tickets"][0]
    assert solve_problem["id"] == PROBLEM and solve_problem["status"] == "solved"
    assert solve_problem["comment"]["public"] is False


def job_failed_for(ticket_ids, error="TicketUpdateFailed"):
    """Every job Zendesk runs now fails for these tickets (a busy database, a lock), as jobs report it."""
    responses.replace(responses.GET, f"{API}/job_statuses/show_many.json", json={"job_statuses": [{
        "id": "j1", "status": "completed", "results": [
            {"id": t, "action": "update", "success": False, "error": error, "details": "try again"}
            for t in ticket_ids]}]})


@responses.activate
def test_a_take_in_that_keeps_failing_inside_its_job_is_kept_and_retried_by_the_worker_until_it_lands(
        desk, clock, caplog):
    an_account_with_one_outage_ticket()
    job_failed_for([42])
    responses.get(f"{API}/tickets/show_many.json", json={"tickets": [TICKET], "users": [REQUESTER]})

    report = desk.declare(IncidentSpec(title="API down", query="API",
                                       started_at=datetime(2026, 11, 22, 10, tzinfo=timezone.utc)))

    # Not dropped: kept for the worker, and every failure line names its ticket.
    assert report.taken_in == 0 and set(report.retrying) == {42}
    assert desk.progress(report.incident_id).retrying == 1
    assert any(r.msg == "incident.take-in-failed" and r.tickets == "42" for r in caplog.records)
    writes = len(put_bodies())

    job_done([42])  # Zendesk is well again
    assert desk.retry_take_ins() == 0  # its wait is not over
    clock.advance(3600)
    assert desk.retry_take_ins() == 1

    assert len(put_bodies()) == writes + 1
    retried = put_bodies()[-1]["tickets"][0]
    assert retried["id"] == 42 and retried["updated_stamp"] == TICKET["updated_at"]  # re-read first
    assert desk.progress(report.incident_id).taken == 1


@responses.activate
def test_a_take_in_whose_ticket_was_closed_meanwhile_is_given_up_with_the_reason(desk, clock):
    an_account_with_one_outage_ticket()
    job_failed_for([42])
    responses.get(f"{API}/tickets/show_many.json", json={"tickets": [TICKET], "users": [REQUESTER]})
    report = desk.declare(IncidentSpec(title="API down", query="API",
                                       started_at=datetime(2026, 11, 22, 10, tzinfo=timezone.utc)))
    responses.replace(responses.GET, f"{API}/tickets/show_many.json",
                      json={"tickets": [dict(TICKET, status="closed")], "users": [REQUESTER]})
    clock.advance(3600)
    writes = len(put_bodies())

    desk.retry_take_ins()

    assert len(put_bodies()) == writes  # nothing more is written to a closed ticket
    assert desk.progress(report.incident_id).take_ins_given_up == {42: "closed: a closed ticket cannot be changed"}
