"""update_many jobs: both forms, job statuses, per-item failures, the 30-job limit, problem solving."""

from __future__ import annotations

import time

from .support import create, update


def poll(api, job_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/api/v2/job_statuses/{job_id}.json").json["job_status"]
        if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.01)


def test_bulk_form_queues_a_job_that_completes(api):
    ids = [api.customer_ticket(tags=["old"])["id"] for _ in range(3)]
    response = api.put(
        f"/api/v2/tickets/update_many.json?ids={','.join(map(str, ids))}",
        json={"ticket": {"additional_tags": ["outage_2026"], "priority": "high"}},
    )
    assert response.status_code == 200
    job = response.json["job_status"]
    assert job["status"] == "queued" and job["total"] == 3 and job["progress"] == 0
    assert job["job_type"] == "Bulk Update" and job["results"] is None and job["message"] is None
    assert job["url"].endswith(f"/api/v2/job_statuses/{job['id']}.json")
    assert response.headers["zendesk-ratelimit-inflight-jobs"].startswith("total=30; remaining=")
    done = poll(api, job["id"])
    assert done["status"] == "completed" and done["progress"] == 3
    assert done["message"].startswith("Completed at 2026-11-22 10:00:00")
    assert done["results"] == [{"id": i, "action": "update", "status": "Updated", "success": True} for i in ids]
    for ticket_id in ids:
        ticket = api.get(f"/api/v2/tickets/{ticket_id}").json["ticket"]
        assert ticket["tags"] == ["old", "outage_2026"] and ticket["priority"] == "high"


def test_batch_form_applies_a_different_change_per_ticket_and_accepts_additional_tags(api):
    first, second = api.customer_ticket(tags=["a"]), api.customer_ticket(tags=["b"])
    response = api.put(
        "/api/v2/tickets/update_many",
        json={
            "tickets": [
                {"id": first["id"], "additional_tags": "x"},
                {"id": second["id"], "remove_tags": ["b"], "priority": "low"},
            ]
        },
    )
    job = poll(api, response.json["job_status"]["id"])
    assert [result["success"] for result in job["results"]] == [True, True]
    assert api.state.ticket(first["id"])["tags"] == ["a", "x"]
    assert api.state.ticket(second["id"])["tags"] == [] and api.state.ticket(second["id"])["priority"] == "low"


def test_failed_items_are_reported_per_ticket_while_the_job_completes(api, agents):
    closed = api.customer_ticket(assignee_id=agents["agent"]["id"], status="closed")
    unassigned = api.customer_ticket()
    response = api.put(
        f"/api/v2/tickets/update_many?ids={closed['id']},{unassigned['id']},424242",
        json={"ticket": {"status": "solved"}},
    )
    job = poll(api, response.json["job_status"]["id"])
    assert job["status"] == "completed"
    by_id = {result["id"]: result for result in job["results"]}
    assert by_id[closed["id"]] == {
        "id": closed["id"],
        "action": "update",
        "success": False,
        "error": "ClosedTicket",
        "details": "Status: closed prevents ticket update",
    }
    assert by_id[unassigned["id"]]["error"] == "RecordInvalid"
    assert by_id[unassigned["id"]]["details"] == "Status: Solved tickets need an assignee"
    assert by_id[424242]["success"] is False


def test_more_than_100_tickets_is_too_many_values(api):
    ids = ",".join(str(i) for i in range(10001, 10102))
    assert (
        api.put(f"/api/v2/tickets/update_many?ids={ids}", json={"ticket": {"priority": "low"}}).json["error"]
        == "TooManyValues"
    )
    batch = {"tickets": [{"id": i, "priority": "low"} for i in range(10001, 10102)]}
    response = api.put("/api/v2/tickets/update_many", json=batch)
    assert response.status_code == 400 and response.json["error"] == "TooManyValues"


def test_the_31st_inflight_job_is_refused(make_api):
    api = make_api(job_delay=30)
    ticket = api.customer_ticket()
    for _ in range(30):
        assert (
            api.put(f"/api/v2/tickets/update_many?ids={ticket['id']}", json={"ticket": {"priority": "low"}}).status_code
            == 200
        )
    refused = api.put(f"/api/v2/tickets/update_many?ids={ticket['id']}", json={"ticket": {"priority": "low"}})
    assert refused.status_code == 429
    assert refused.json["error"] == "TooManyJobs"
    assert len(refused.json["current_job_ids"]) == 30
    assert refused.headers["zendesk-ratelimit-inflight-jobs"] == "total=30; remaining=0; resets=60"
    assert api.client.get("/_sandbox/stats").json["rate_limited"] == 1


def test_show_many_job_statuses(api):
    ticket = api.customer_ticket()
    ids = [
        api.put(f"/api/v2/tickets/update_many?ids={ticket['id']}", json={"ticket": {"priority": "low"}}).json[
            "job_status"
        ]["id"]
        for _ in range(2)
    ]
    api.finish_jobs()
    statuses = api.get(f"/api/v2/job_statuses/show_many.json?ids={','.join(ids)}").json["job_statuses"]
    assert [job["id"] for job in statuses] == ids
    assert all(job["status"] == "completed" for job in statuses)


def test_job_status_expires_after_a_day(api, clock):
    ticket = api.customer_ticket()
    job_id = api.put(f"/api/v2/tickets/update_many?ids={ticket['id']}", json={"ticket": {"priority": "low"}}).json[
        "job_status"
    ]["id"]
    api.finish_jobs()
    clock.advance(86401)
    assert api.get(f"/api/v2/job_statuses/{job_id}").status_code == 404


def test_batch_safe_update_with_stale_stamp_fails_that_item(api, clock):
    ticket = api.customer_ticket()
    stamp = ticket["updated_at"]
    clock.advance(2)
    update(api, ticket["id"], priority="high")
    response = api.put(
        "/api/v2/tickets/update_many",
        json={"tickets": [{"id": ticket["id"], "status": "pending", "safe_update": True, "updated_stamp": stamp}]},
    )
    result = poll(api, response.json["job_status"]["id"])["results"][0]
    assert result["success"] is False and result["error"] == "UpdateConflict"


def test_solving_a_problem_solves_its_incidents_and_copies_the_comment(api, agents):
    agent = agents["agent"]["id"]
    problem = create(api, type="problem", subject="API outage")
    first = api.customer_ticket(requester={"name": "Léa Martin", "email": "lea@example.com"})
    second = api.customer_ticket(requester={"name": "Ivan Petrov", "email": "ivan@example.com"})
    done = api.customer_ticket(requester={"name": "Done Already", "email": "done@example.com"}, assignee_id=agent)
    api.put(
        f"/api/v2/tickets/update_many?ids={first['id']},{second['id']},{done['id']}",
        json={"ticket": {"type": "incident", "problem_id": problem["id"]}},
    )
    api.finish_jobs()
    update(api, done["id"], status="solved")
    solved = update(
        api,
        problem["id"],
        status="solved",
        assignee_id=agent,
        comment={"body": "Bonjour {{ticket.requester.first_name}}, c'est réparé."},
    )
    assert solved.status_code == 200
    for incident, name in ((first, "Léa"), (second, "Ivan")):
        stored = api.state.ticket(incident["id"])
        assert stored["status"] == "solved"
        assert api.state.comments_for(incident["id"])[-1]["body"] == f"Bonjour {name}, c'est réparé."
        assert len(api.state.emails_for(incident["id"])) == 1
    # Already solved incidents are left alone.
    assert api.state.emails_for(done["id"]) == []
    # The problem's requester is the API user itself: nobody is emailed on the problem.
    assert api.state.emails_for(problem["id"]) == []


def test_destroy_many_deletes_in_a_job_and_reports_unknown_ids(api):
    ids = [create(api)["id"] for _ in range(2)]
    job = api.delete(f"/api/v2/tickets/destroy_many.json?ids={ids[0]},{ids[1]},99999").json["job_status"]
    assert job["job_type"] == "Bulk Delete"
    done = poll(api, job["id"])
    assert [(r["id"], r["success"]) for r in done["results"]] == [(ids[0], True), (ids[1], True), (99999, False)]
    assert api.get(f"/api/v2/tickets/show_many?ids={ids[0]},{ids[1]}").json["tickets"] == []
