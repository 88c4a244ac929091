"""The gateway's exact requests to Zendesk, and its retry policy (waits recorded, never slept)."""

import json
import random
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from app.errors import LeaseLost, ZendeskAuthError, ZendeskServerError
from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway

API = "https://acme.zendesk.com/api/v2"


@pytest.fixture
def gateway(config, clock):
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock, rng=random.Random(1))


def query_of(call):
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def job(job_id, status="queued", results=None):
    return {"id": job_id, "status": status, "results": results, "total": 0, "progress": 0, "url": ""}


@responses.activate
def test_bulk_update_sends_100_tickets_per_job_and_checks_every_result(gateway):
    items = [{"id": i, "additional_tags": ["api_down"]} for i in range(1, 151)]
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": job("j1")})
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": job("j2")})
    results_1 = [{"id": i, "action": "update", "status": "Updated", "success": True} for i in range(1, 101)]
    results_2 = [{"id": i, "action": "update", "status": "Updated", "success": True} for i in range(101, 150)]
    results_2.append({"id": 150, "action": "update", "success": False, "error": "ClosedTicket", "details": "closed"})
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [
        job("j1", "completed", results_1), job("j2", "completed", results_2)]})

    outcome = gateway.bulk_update(items)

    puts = [c for c in responses.calls if c.request.method == "PUT"]
    assert [len(json.loads(c.request.body)["tickets"]) for c in puts] == [100, 50]
    assert json.loads(puts[0].request.body)["tickets"][0] == {"id": 1, "additional_tags": ["api_down"]}
    polls = [c for c in responses.calls if "job_statuses" in c.request.url]
    assert len(polls) == 1 and query_of(polls[0])["ids"] == "j1,j2"
    assert len(outcome.succeeded) == 149
    assert outcome.failed == {150: "ClosedTicket: closed"}


@responses.activate
def test_a_429_waits_as_long_as_retry_after_says_then_retries(gateway, clock):
    responses.get(f"{API}/users/me.json", status=429, headers={"Retry-After": "7"}, json={"error": "APIRateLimitExceeded"})
    responses.get(f"{API}/users/me.json", status=429, headers={"Retry-After": "3"}, json={"error": "APIRateLimitExceeded"})
    responses.get(f"{API}/users/me.json", json={"user": {"id": 1, "name": "API", "role": "admin"}})

    assert gateway.me().id == 1
    assert len(responses.calls) == 3
    assert clock.sleeps == [7, 3]


@responses.activate
def test_server_errors_retry_with_backoff_then_give_up(gateway, clock):
    for _ in range(3):
        responses.get(f"{API}/users/me.json", status=500, json={"error": "InternalError"})
    with pytest.raises(ZendeskServerError):
        gateway.me()
    assert len(responses.calls) == 3  # the first try and two retries for a 500
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0]


@responses.activate
def test_bad_credentials_are_never_retried_and_the_token_is_not_in_the_error(gateway, clock, config):
    responses.get(f"{API}/users/me.json", status=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(ZendeskAuthError) as error:
        gateway.me()
    assert len(responses.calls) == 1 and clock.sleeps == []
    assert config.zendesk_api_token not in str(error.value)


@responses.activate
def test_export_follows_the_cursor_with_the_type_only_in_the_filter(gateway):
    page_1 = {"results": [{"id": 1, "status": "open", "requester_id": 10, "result_type": "ticket"}],
              "users": [{"id": 10, "name": "Ana", "email": "ana@example.com", "locale": "es", "role": "end-user"}],
              "meta": {"has_more": True, "after_cursor": "c1"},
              "links": {"next": f"{API}/search/export.json?page[after]=c1&page[size]=1000&filter[type]=ticket&query=API"}}
    page_2 = {"results": [{"id": 2, "status": "new", "requester_id": 11, "result_type": "ticket"}],
              "meta": {"has_more": False, "after_cursor": None}, "links": {"next": None}}
    responses.get(f"{API}/search/export.json", json=page_1)
    responses.get(f"{API}/search/export.json", json=page_2)
    responses.get(f"{API}/users/show_many.json", json={"users": [
        {"id": 11, "name": "Oleg", "email": None, "locale": "ru", "role": "end-user"}]})

    pages = list(gateway.export_tickets("API created>=2026-11-22T10:00:00Z"))

    first = query_of(responses.calls[0])
    assert first["filter[type]"] == "ticket" and "type:" not in first["query"]
    assert first["page[size]"] == "1000" and first["include"] == "users"
    assert query_of(responses.calls[1])["page[after]"] == "c1"
    assert [[t.id for t in page] for page in pages] == [[1], [2]]
    assert pages[0][0].requester.locale == "es"
    # A requester the sideload missed is fetched in bulk, not one call per ticket.
    assert pages[1][0].requester.name == "Oleg" and query_of(responses.calls[2])["ids"] == "11"


@responses.activate
def test_tickets_that_failed_inside_a_job_are_sent_again_and_only_those(gateway):
    items = [{"id": 1, "additional_tags": ["api_down"]}, {"id": 2, "additional_tags": ["api_down"]},
             {"id": 3, "comment": {"body": "Fixed", "public": True}, "safe_update": True,
              "updated_stamp": "2026-11-22T10:00:00Z"}]
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": job("j1")})
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": job("j2")})
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [job("j1", "completed", [
        {"id": 1, "action": "update", "success": True, "status": "Updated"},
        # A conflict on a change sent without our stamp: Zendesk used the queue time, so re-apply.
        {"id": 2, "action": "update", "success": False, "error": "UpdateConflict", "details": "changed"},
        # With our own stamp the caller must re-read first: not retried here.
        {"id": 3, "action": "update", "success": False, "error": "UpdateConflict", "details": "changed"}])]})
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [job("j2", "completed", [
        {"id": 2, "action": "update", "success": True, "status": "Updated"}])]})

    outcome = gateway.bulk_update(items)

    puts = [json.loads(c.request.body)["tickets"] for c in responses.calls if c.request.method == "PUT"]
    assert [[t["id"] for t in put] for put in puts] == [[1, 2, 3], [2]]
    assert outcome.succeeded == {1, 2}
    assert outcome.failed == {3: "UpdateConflict: changed"}


@responses.activate
def test_rate_limit_headers_slow_the_client_down_before_zendesk_says_429(gateway, clock):
    headers = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "7", "ratelimit-reset": "14"}
    responses.get(f"{API}/users/me.json", headers=headers, json={"user": {"id": 1, "name": "API", "role": "admin"}})
    responses.get(f"{API}/users/me.json", json={"user": {"id": 1, "name": "API", "role": "admin"}})

    gateway.me()
    assert clock.sleeps == []  # plenty left before the first call
    gateway.me()

    # 7 calls left for 14 seconds: spread them out, one every 2 seconds.
    assert clock.sleeps == [2.0]
    assert len(responses.calls) == 2


@responses.activate
def test_every_write_asks_before_write_first_and_a_refusal_sends_nothing(config, clock):
    asked, answers = [], []

    def fence(what):
        asked.append(what)
        if len(asked) > 1:
            raise LeaseLost(f"lease lost: {what} not sent")

    rate_limit = RateLimitState()
    gateway = ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock, rng=random.Random(1),
                             on_answer=lambda: answers.append(1), before_write=fence)
    responses.get(f"{API}/tickets.json", json={"tickets": []})
    responses.post(f"{API}/tickets.json", json={"ticket": {"id": 42}})
    assert gateway.create_problem_ticket("[Outage] API down", "Started…", "high", "outage-desk-1") == 42
    assert len(answers) == 2  # the look-up, then the create

    with pytest.raises(LeaseLost):
        gateway.bulk_update([{"id": 1, "additional_tags": ["api_down"]}])
    assert asked == ["POST /api/v2/tickets.json", "PUT /api/v2/tickets/update_many.json"]
    assert len(responses.calls) == 2 and len(answers) == 2


@responses.activate
def test_a_problem_ticket_whose_create_lost_its_answer_is_found_not_made_twice(gateway, clock):
    # Zendesk made the ticket, but the answer never came back: a blind retry would make a second one.
    responses.get(f"{API}/tickets.json", json={"tickets": []})
    responses.get(f"{API}/tickets.json", json={"tickets": [{"id": 77, "external_id": "outage-desk-1"}]})
    responses.post(f"{API}/tickets.json", status=502, body="<html>502 Bad Gateway</html>")

    assert gateway.create_problem_ticket("[Outage] API down", "Started…", "high", "outage-desk-1") == 77

    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert len(posts) == 1 and json.loads(posts[0].request.body)["ticket"]["external_id"] == "outage-desk-1"
    assert "external_id=outage-desk-1" in responses.calls[0].request.url


@responses.activate
def test_a_problem_ticket_whose_connection_broke_mid_create_is_found_not_a_traceback(gateway, clock):
    responses.get(f"{API}/tickets.json", json={"tickets": []})
    responses.get(f"{API}/tickets.json", json={"tickets": [{"id": 78, "external_id": "outage-desk-1"}]})
    responses.post(f"{API}/tickets.json", body=requests.ConnectionError("connection reset by peer"))

    assert gateway.create_problem_ticket("[Outage] API down", "Started…", "high", "outage-desk-1") == 78
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


@responses.activate
def test_rate_limit_headers_it_cannot_read_are_ignored(gateway, clock):
    headers = {"X-Rate-Limit": "lots", "X-Rate-Limit-Remaining": "-", "ratelimit-reset": "soon"}
    responses.get(f"{API}/users/me.json", headers=headers, json={"user": {"id": 1, "name": "API", "role": "admin"}})
    assert gateway.me().id == 1 and gateway.me().id == 1
    assert clock.sleeps == []
