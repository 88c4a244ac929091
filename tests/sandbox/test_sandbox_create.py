"""Creating tickets: a description in place of a comment, and create_many jobs."""

from __future__ import annotations

from zendesk_sandbox.faults import Faults

from .test_sandbox_jobs import poll


def test_a_description_without_a_comment_becomes_the_first_comment(api):
    response = api.post("/api/v2/tickets.json", json={"ticket": {"subject": "API down", "description": "Erreur 503"}})
    assert response.status_code == 201, response.json
    ticket = response.json["ticket"]
    assert ticket["description"] == "Erreur 503"
    comments = api.get(f"/api/v2/tickets/{ticket['id']}/comments").json["comments"]
    assert [(c["body"], c["public"], c["author_id"]) for c in comments] == [("Erreur 503", True, 1)]


def test_a_comment_wins_over_a_description(api):
    body = {"ticket": {"subject": "s", "description": "ignored", "comment": {"body": "kept"}}}
    assert api.post("/api/v2/tickets.json", json=body).json["ticket"]["description"] == "kept"


def test_neither_description_nor_comment_is_refused(api):
    response = api.post("/api/v2/tickets.json", json={"ticket": {"subject": "s"}})
    assert response.status_code == 422
    assert response.json["details"]["description"][0]["description"] == "Description: cannot be blank"


def test_list_tickets_by_external_id_finds_a_new_ticket_at_once(api):
    # Search lags behind writes; List Tickets reads the tickets themselves.
    body = {"ticket": {"subject": "[Outage] API down", "comment": {"body": "b"}, "external_id": "outage-desk-1"}}
    made = api.post("/api/v2/tickets.json", json=body).json["ticket"]
    api.post("/api/v2/tickets.json", json={"ticket": {"subject": "other", "comment": {"body": "b"}}})

    listed = api.get("/api/v2/tickets.json?external_id=outage-desk-1").json["tickets"]

    assert [(t["id"], t["external_id"]) for t in listed] == [(made["id"], "outage-desk-1")]
    assert api.get("/api/v2/tickets.json?external_id=nothing").json["tickets"] == []


def test_create_many_queues_a_job_whose_results_give_each_id_and_index(api):
    tickets = [{"subject": f"t{n}", "comment": {"body": f"body {n}"}, "tags": ["bulk"]} for n in range(3)]
    tickets[1] = {"subject": "t1", "description": "from a description"}
    response = api.post("/api/v2/tickets/create_many.json", json={"tickets": tickets})
    assert response.status_code == 200
    job = response.json["job_status"]
    assert job["status"] == "queued" and job["total"] == 3
    assert response.headers["zendesk-ratelimit-inflight-jobs"].startswith("total=30; remaining=")
    done = poll(api, job["id"])
    assert done["status"] == "completed" and [item["index"] for item in done["results"]] == [0, 1, 2]
    created = [api.get(f"/api/v2/tickets/{item['id']}").json["ticket"] for item in done["results"]]
    assert [t["subject"] for t in created] == ["t0", "t1", "t2"]
    assert [t["description"] for t in created] == ["body 0", "from a description", "body 2"]
    assert created[0]["tags"] == ["bulk"] and created[0]["via"]["channel"] == "api"


def test_create_many_reports_an_invalid_ticket_in_its_result(api):
    body = {"tickets": [{"subject": "no body"}, {"description": "ok"}]}
    response = api.post("/api/v2/tickets/create_many", json=body)
    done = poll(api, response.json["job_status"]["id"])
    assert done["results"][0] == {"index": 0, "error": "TicketCreateFailed", "details": "Description: cannot be blank"}
    assert set(done["results"][1]) == {"id", "index"} and done["results"][1]["index"] == 1
    assert len(api.state.tickets) == 1


def test_create_many_takes_at_most_100_tickets_and_needs_an_array(api):
    too_many = {"tickets": [{"description": "x"}] * 101}
    assert api.post("/api/v2/tickets/create_many", json=too_many).json["error"] == "TooManyValues"
    assert api.post("/api/v2/tickets/create_many", json={"ticket": {"description": "x"}}).status_code == 400
    assert api.state.jobs == {}


def test_injected_item_failures_in_create_many_create_nothing_for_that_item(make_api):
    api = make_api(faults=Faults(item_failure_rate=0.5, seed=2))
    response = api.post("/api/v2/tickets/create_many", json={"tickets": [{"description": f"{n}"} for n in range(20)]})
    done = poll(api, response.json["job_status"]["id"])
    assert done["status"] == "completed"
    failed = [item for item in done["results"] if "error" in item]
    assert 0 < len(failed) < 20 and all("id" not in item for item in failed)
    assert {item["error"] for item in failed} <= {"TicketCreateFailed", "InternalError"}
    assert len(api.state.tickets) == 20 - len(failed)
