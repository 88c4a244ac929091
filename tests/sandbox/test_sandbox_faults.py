"""Injected faults: what a Zendesk client sees, and that a refused write is never applied."""

from __future__ import annotations

import json
import time

import pytest
import requests

from zendesk_sandbox.faults import Faults
from zendesk_sandbox.runner import parser
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox

from .support import API_EMAIL, API_TOKEN, create, update
from .test_sandbox_jobs import poll


def parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def test_server_errors_are_500_502_or_503_reproducibly_and_spare_the_control_endpoints(make_api):
    first, second = (make_api(faults=Faults(server_error_rate=1.0, seed=4)) for _ in range(2))
    statuses = [first.get("/api/v2/tickets/show_many?ids=1").status_code for _ in range(30)]
    assert set(statuses) == {500, 502, 503}
    assert [second.get("/api/v2/tickets/show_many?ids=1").status_code for _ in range(30)] == statuses
    assert first.client.get("/_sandbox/stats").status_code == 200
    assert first.client.get("/_sandbox/stats").json["faults"] == {"server_error": 30}


def test_a_server_error_applies_nothing(make_api):
    api = make_api()
    ticket = create(api, tags=["before"])
    api.client.post("/_sandbox/faults", json={"server_error_rate": 1.0})
    response = update(api, ticket["id"], tags=["after"])
    assert response.status_code in (500, 502, 503)
    failed = api.put(f"/api/v2/tickets/update_many.json?ids={ticket['id']}", json={"ticket": {"status": "solved"}})
    assert failed.status_code in (500, 502, 503)
    api.client.post("/_sandbox/faults", json={})
    assert api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]["tags"] == ["before"]
    assert api.state.jobs == {}  # the refused update_many queued no job


def test_rate_limit_faults_answer_429_with_retry_after_and_apply_nothing(make_api):
    api = make_api()
    ticket = create(api, tags=["before"])
    api.client.post("/_sandbox/faults", json={"rate_limit_rate": 1.0, "retry_after": 7})
    response = update(api, ticket["id"], tags=["after"])
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json["error"] == "APIRateLimitExceeded"
    assert api.client.get("/_sandbox/stats").json["rate_limited"] == 1
    api.client.post("/_sandbox/faults", json={})
    assert api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]["tags"] == ["before"]


def test_item_failures_leave_those_tickets_alone_while_the_job_completes(make_api):
    api = make_api(faults=Faults(item_failure_rate=0.5, seed=1))
    ids = [create(api)["id"] for _ in range(20)]
    response = api.put(
        f"/api/v2/tickets/update_many.json?ids={','.join(map(str, ids))}", json={"ticket": {"priority": "urgent"}}
    )
    job = poll(api, response.json["job_status"]["id"])
    assert job["status"] == "completed" and job["progress"] == 20
    failed = [item for item in job["results"] if not item["success"]]
    assert 0 < len(failed) < 20
    for item in failed:
        assert item["action"] == "update" and item["error"] in ("TicketUpdateFailed", "InternalError")
        assert item["details"]
    priorities = {ticket_id: api.get(f"/api/v2/tickets/{ticket_id}").json["ticket"]["priority"] for ticket_id in ids}
    assert {item["id"] for item in failed} == {ticket_id for ticket_id, value in priorities.items() if value is None}
    assert api.client.get("/_sandbox/stats").json["faults"] == {"item_failure": len(failed)}


def test_malformed_answers_are_html_cut_json_or_empty_with_200(make_api):
    api = make_api()
    ticket = create(api, tags=["before"])
    api.client.post("/_sandbox/faults", json={"malformed_rate": 1.0, "seed": 2})
    answers = [api.get(f"/api/v2/tickets/{ticket['id']}") for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}
    assert not any(parses(answer.data) for answer in answers)
    kinds = {answer.mimetype for answer in answers} | {"empty" for answer in answers if not answer.data}
    assert kinds == {"text/html", "application/json", "empty"}
    cut = next(answer.data for answer in answers if answer.mimetype == "application/json" and answer.data)
    assert cut.startswith(b'{"ticket":')
    assert not parses(update(api, ticket["id"], tags=["after"]).data)
    api.client.post("/_sandbox/faults", json={})
    assert api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]["tags"] == ["before"]


def test_a_lost_answer_is_a_502_although_the_write_was_applied(make_api):
    api = make_api()
    ticket = create(api, tags=["before"])
    api.client.post("/_sandbox/faults", json={"lost_answer_rate": 1.0})
    response = update(api, ticket["id"], tags=["after"])
    assert response.status_code == 502 and response.mimetype == "text/html"
    bulk = api.put(f"/api/v2/tickets/update_many.json?ids={ticket['id']}", json={"ticket": {"priority": "high"}})
    assert bulk.status_code == 502
    api.finish_jobs()
    api.client.post("/_sandbox/faults", json={})
    after = api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]
    assert after["tags"] == ["after"] and after["priority"] == "high"


def test_a_stalled_lost_answer_holds_the_client_then_times_out_as_504(make_api, clock):
    api = make_api(faults=Faults(lost_answer_rate=1.0, lost_answer_stall=90))
    response = api.post("/api/v2/tickets.json", json={"ticket": {"subject": "s", "comment": {"body": "b"}}})
    assert response.status_code == 504 and clock.sleeps == [90]
    assert len(api.state.tickets) == 1


def test_a_drip_sends_the_real_answer_one_byte_at_a_time(make_api, clock):
    api = make_api()
    ticket = create(api)
    plain = api.get(f"/api/v2/tickets/{ticket['id']}").data
    api.client.post("/_sandbox/faults", json={"drip_rate": 1.0, "drip_delay": 2.5})
    response = api.get(f"/api/v2/tickets/{ticket['id']}", buffered=False)
    chunks = list(response.response)
    assert b"".join(chunks) == plain and {len(chunk) for chunk in chunks[1:]} == {1}
    assert response.headers["Content-Length"] == str(len(plain))
    assert clock.sleeps == [2.5] * len(plain)


def test_a_dripping_server_makes_a_real_client_time_out():
    app = create_sandbox_app(email=API_EMAIL, api_token=API_TOKEN, faults=Faults(drip_rate=1.0, drip_delay=0.5))
    server = serve_sandbox(app)
    try:
        started = time.monotonic()
        response = requests.get(
            f"{server.url}/api/v2/users/me", auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=0.2, stream=True
        )
        assert response.status_code == 200  # the headers come at once
        with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
            response.content
        assert time.monotonic() - started < 2
    finally:
        server.shutdown()


def test_the_control_endpoint_reads_replaces_and_validates_the_faults(api):
    assert api.client.get("/_sandbox/faults").json == Faults().as_json()
    set_to = api.client.post("/_sandbox/faults", json={"server_error_rate": 0.05, "rate_limit_rate": 0.02, "seed": 9})
    assert set_to.status_code == 200
    expected = Faults(server_error_rate=0.05, rate_limit_rate=0.02, seed=9)
    assert api.client.get("/_sandbox/faults").json == expected.as_json()
    for wrong in ({"server_error_rate": 2}, {"server_error_rate": 0.6, "drip_rate": 0.6}, {"nope": 1}, {"seed": "x"}):
        assert api.client.post("/_sandbox/faults", json=wrong).status_code == 400
    api.client.post("/_sandbox/faults", json={})
    assert api.client.get("/_sandbox/faults").json == Faults().as_json()


def test_every_fault_setting_has_a_command_line_flag():
    flags = (
        "--server-error-rate 0.05 --rate-limit-rate 0.01 --item-failure-rate 0.05 --malformed-rate 0.01"
        " --lost-answer-rate 0.01 --drip-rate 0.01 --drip-delay 4 --retry-after 3 --lost-answer-stall 30"
        " --fault-seed 11"
    )
    args = vars(parser().parse_args(flags.split()))
    wanted = Faults(
        server_error_rate=0.05, rate_limit_rate=0.01, item_failure_rate=0.05, malformed_rate=0.01,
        lost_answer_rate=0.01, drip_rate=0.01, drip_delay=4, retry_after=3, lost_answer_stall=30, seed=11,
    )
    assert {name: args[name] for name in wanted.as_json()} == wanted.as_json()
