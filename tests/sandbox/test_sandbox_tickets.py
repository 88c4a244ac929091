"""Tickets API: shapes, single updates and Zendesk's ticket rules, comments, placeholders and emails."""

from __future__ import annotations

from zendesk_sandbox.state import API_USER_ID

from .support import API_EMAIL, create, path_of, update


def test_create_returns_ticket_and_audit_with_zendesk_shape(api):
    response = api.post(
        "/api/v2/tickets",
        json={"ticket": {"subject": "API outage", "type": "problem", "comment": {"body": "We are on it"}}},
    )
    assert response.status_code == 201
    ticket, audit = response.json["ticket"], response.json["audit"]
    assert ticket["description"] == "We are on it"
    assert ticket["requester_id"] == API_USER_ID and ticket["submitter_id"] == API_USER_ID
    assert ticket["status"] == "new" and ticket["type"] == "problem"
    assert ticket["via"] == {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}
    assert ticket["url"].endswith(f"/api/v2/tickets/{ticket['id']}.json")
    for key in (
        "raw_subject",
        "priority",
        "problem_id",
        "assignee_id",
        "group_id",
        "tags",
        "custom_fields",
        "has_incidents",
        "is_public",
        "created_at",
        "updated_at",
    ):
        assert key in ticket
    assert audit["ticket_id"] == ticket["id"]
    assert audit["events"][0]["type"] == "Comment"


def test_create_needs_a_comment(api):
    response = api.post("/api/v2/tickets", json={"ticket": {"subject": "no body"}})
    assert response.status_code == 422
    assert response.json["error"] == "RecordInvalid"


def test_show_and_show_many_sideload_users(api, agents):
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"])
    single = api.get(f"/api/v2/tickets/{ticket['id']}.json?include=users").json
    assert single["ticket"]["id"] == ticket["id"]
    assert {user["id"] for user in single["users"]} == {ticket["requester_id"], agents["agent"]["id"]}
    many = api.get(f"/api/v2/tickets/show_many.json?ids={ticket['id']},99999&include=users").json
    assert [t["id"] for t in many["tickets"]] == [ticket["id"]]
    assert len(many["users"]) == 2


def test_show_many_refuses_more_than_100_ids(api):
    response = api.get("/api/v2/tickets/show_many?ids=" + ",".join(str(i) for i in range(10001, 10102)))
    assert response.status_code == 400
    assert response.json["error"] == "TooManyValues"


def test_unknown_ticket_is_record_not_found(api):
    response = api.get("/api/v2/tickets/424242")
    assert response.status_code == 404
    assert response.json == {"error": "RecordNotFound", "description": "Not found"}


def test_assigning_a_new_ticket_opens_it(api, agents):
    ticket = api.customer_ticket()
    assert ticket["status"] == "new"
    updated = update(api, ticket["id"], assignee_id=agents["agent"]["id"]).json["ticket"]
    assert updated["status"] == "open"


def test_status_cannot_go_back_to_new(api, agents):
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"])
    response = update(api, ticket["id"], status="new")
    assert response.status_code == 422
    assert response.json["error"] == "RecordInvalid"


def test_solving_needs_an_assignee(api):
    ticket = api.customer_ticket()
    response = update(api, ticket["id"], status="solved")
    assert response.status_code == 422
    assert response.json["details"]["status"][0]["description"] == "Status: Solved tickets need an assignee"


def test_closed_ticket_cannot_be_updated(api, agents):
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"], status="closed")
    response = update(api, ticket["id"], tags=["x"])
    assert response.status_code == 422
    assert response.json["details"]["status"][0]["error"] == "ClosedTicket"


def test_priority_cannot_be_cleared_once_set(api):
    ticket = api.customer_ticket(priority="high")
    assert update(api, ticket["id"], priority=None).status_code == 422
    assert update(api, ticket["id"], priority="low").json["ticket"]["priority"] == "low"


def test_problem_id_requires_an_incident(api):
    problem = create(api, type="problem")
    ticket = api.customer_ticket()
    assert update(api, ticket["id"], problem_id=problem["id"]).status_code == 422
    linked = update(api, ticket["id"], type="incident", problem_id=problem["id"]).json["ticket"]
    assert linked["problem_id"] == problem["id"]
    assert api.get(f"/api/v2/tickets/{problem['id']}").json["ticket"]["has_incidents"] is True
    incidents = api.get(f"/api/v2/tickets/{problem['id']}/incidents").json["tickets"]
    assert [t["id"] for t in incidents] == [ticket["id"]]


def test_dropdown_value_must_be_an_option_and_lives_in_tags(api):
    field = api.state.add_ticket_field(
        "Business impact",
        [("1 - Cannot use", "impact_1"), ("2 - Major", "impact_2")],
        created_at="2026-01-01T00:00:00Z",
    )
    ticket = api.customer_ticket(tags=["vip"])
    bad = update(api, ticket["id"], custom_fields=[{"id": field["id"], "value": "impact_9"}])
    assert bad.status_code == 422
    first = update(api, ticket["id"], custom_fields=[{"id": field["id"], "value": "impact_1"}]).json["ticket"]
    assert first["tags"] == ["vip", "impact_1"]
    assert {"id": field["id"], "value": "impact_1"} in first["custom_fields"]
    second = update(api, ticket["id"], custom_fields=[{"id": field["id"], "value": "impact_2"}]).json["ticket"]
    assert second["tags"] == ["vip", "impact_2"]
    # Overwriting tags drops the option tag, which clears the drop-down.
    cleared = update(api, ticket["id"], tags=["vip"]).json["ticket"]
    assert {"id": field["id"], "value": None} in cleared["custom_fields"]


def test_tags_replace_while_additional_and_remove_tags_edit(api):
    ticket = api.customer_ticket(tags=["a", "b"])
    assert update(api, ticket["id"], additional_tags="c d", remove_tags=["a"]).json["ticket"]["tags"] == ["b", "c", "d"]
    assert update(api, ticket["id"], tags=["z"]).json["ticket"]["tags"] == ["z"]


def test_updated_at_moves_only_on_real_changes(api, clock):
    ticket = api.customer_ticket(priority="normal")
    clock.advance(30)
    same = update(api, ticket["id"], priority="normal").json["ticket"]
    assert same["updated_at"] == ticket["updated_at"]
    changed = update(api, ticket["id"], priority="high").json["ticket"]
    assert changed["updated_at"] == "2026-11-22T10:00:30Z"


def test_safe_update_with_stale_stamp_is_a_409(api, clock):
    ticket = api.customer_ticket()
    clock.advance(5)
    update(api, ticket["id"], priority="high")
    stale = update(api, ticket["id"], priority="urgent", safe_update=True, updated_stamp=ticket["updated_at"])
    assert stale.status_code == 409
    assert stale.json["error"] == "UpdateConflict"
    fresh_stamp = api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]["updated_at"]
    assert update(api, ticket["id"], priority="urgent", safe_update=True, updated_stamp=fresh_stamp).status_code == 200


def test_comments_are_listed_with_their_fields(api, agents):
    ticket = api.customer_ticket()
    update(api, ticket["id"], comment={"body": "Looking into it", "public": False, "author_id": agents["agent"]["id"]})
    comments = api.get(f"/api/v2/tickets/{ticket['id']}/comments.json").json["comments"]
    assert [c["body"] for c in comments] == ["The API returns erreur 503", "Looking into it"]
    assert comments[1]["public"] is False and comments[1]["author_id"] == agents["agent"]["id"]
    assert set(comments[1]) >= {"id", "body", "html_body", "public", "author_id", "created_at"}


def test_placeholders_render_in_agent_comments_only(api, agents):
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"])
    text = (
        "Hi {{ticket.requester.first_name}} ({{ticket.requester.email}}), #{{ticket.id}} {{ticket.title}}"
        " by {{current_user.first_name}}{{ticket.nope}}."
    )
    update(api, ticket["id"], comment={"body": text, "author_id": agents["agent"]["id"]})
    update(api, ticket["id"], comment={"body": text, "author_id": ticket["requester_id"]})
    bodies = [c["body"] for c in api.state.comments_for(ticket["id"])]
    assert bodies[1] == f"Hi Ana (ana@example.com), #{ticket['id']} API down by Outage."
    assert bodies[2] == text


def test_end_user_comment_reopens_a_pending_ticket(api, agents):
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"], status="pending")
    reopened = update(api, ticket["id"], comment={"body": "still broken", "author_id": ticket["requester_id"]})
    assert reopened.json["ticket"]["status"] == "open"


def test_public_agent_comment_emails_the_requester_once(api, agents):
    ticket = api.customer_ticket(subject="API down")
    update(
        api,
        ticket["id"],
        comment={"body": "Bonjour {{ticket.requester.first_name}}", "author_id": agents["agent"]["id"]},
    )
    update(api, ticket["id"], comment={"body": "internal", "public": False, "author_id": agents["agent"]["id"]})
    emails = api.state.emails_for(ticket["id"])
    assert len(emails) == 1
    assert emails[0]["to"] == "ana@example.com"
    assert emails[0]["subject"] == f"[Ticket #{ticket['id']}] API down"
    assert emails[0]["body"] == "Bonjour Ana"
    assert emails[0]["author_id"] == agents["agent"]["id"]


def test_requester_without_email_gets_no_email(api, agents):
    ticket = api.customer_ticket(requester_id=agents["caller"]["id"], channel="voice", voice_rel="voicemail")
    update(api, ticket["id"], comment={"body": "Service is back"})
    assert api.state.emails_for(ticket["id"]) == []


def test_api_user_comment_renders_and_emails_as_an_agent(api):
    ticket = api.customer_ticket()
    update(api, ticket["id"], comment={"body": "Hello {{ticket.requester.first_name}}"})
    assert api.state.emails_for(ticket["id"])[0]["body"] == "Hello Ana"


def test_tags_endpoints_set_add_remove(api):
    ticket = api.customer_ticket(tags=["a"])
    path = f"/api/v2/tickets/{ticket['id']}/tags.json"
    assert api.put(path, json={"tags": ["b"]}).json == {"tags": ["a", "b"]}
    assert api.delete(path, json={"tags": ["a"]}).json == {"tags": ["b"]}
    assert api.post(path, json={"tags": ["c"]}).json == {"tags": ["c"]}
    assert api.get(path).json == {"tags": ["c"]}


def test_users_endpoints(api, agents):
    assert api.get("/api/v2/users/me.json").json["user"]["email"] == API_EMAIL
    user = api.get(f"/api/v2/users/{agents['caller']['id']}").json["user"]
    assert user["email"] is None and user["phone"] == "+33 6 12 34 56 78" and user["role"] == "end-user"
    many = api.get(f"/api/v2/users/show_many?ids={agents['agent']['id']},{agents['customer']['id']}").json["users"]
    assert [u["locale"] for u in many] == ["fr", "pt-BR"]
    assert api.get("/api/v2/users/show_many?ids=" + ",".join(map(str, range(101)))).status_code == 400


def test_sending_the_whole_ticket_back_is_not_a_change(api, agents, clock):
    field = api.state.add_ticket_field("Business impact", [("1 - Cannot use", "impact_1")])
    ticket = api.customer_ticket(
        custom_fields=[{"id": field["id"], "value": "impact_1"}], tags=["vip"], assignee_id=agents["agent"]["id"]
    )
    clock.advance(30)
    same = update(api, ticket["id"], **ticket)
    assert same.status_code == 200
    assert same.json["ticket"]["updated_at"] == ticket["updated_at"]
    assert same.json["audit"]["events"] == []


def test_users_search_finds_a_user_by_exact_email_or_by_a_term(api):
    jane = api.state.add_user("Jane Referent", email="Jane@Example.com")

    by_email = api.get("/api/v2/users/search.json?query=email:jane@example.com").get_json()
    by_term = api.get("/api/v2/users/search.json?query=referent").get_json()
    nobody = api.get("/api/v2/users/search.json?query=email:nobody@example.com").get_json()

    assert [u["id"] for u in by_email["users"]] == [jane["id"]]
    assert [u["id"] for u in by_term["users"]] == [jane["id"]]
    assert nobody == {"users": [], "next_page": None, "previous_page": None, "count": 0}
    assert api.get("/api/v2/users/search.json").status_code == 400


def test_without_a_comment_the_description_is_the_first_comment(api):
    ticket = api.post("/api/v2/tickets", json={"ticket": {"subject": "s", "description": "From the API"}}).json
    assert [c["body"] for c in api.state.comments_for(ticket["ticket"]["id"])] == ["From the API"]


def test_delete_a_ticket_then_it_is_gone(api):
    ticket = create(api)
    assert api.delete(f"/api/v2/tickets/{ticket['id']}.json").status_code == 204
    assert api.get(f"/api/v2/tickets/{ticket['id']}").status_code == 404
    assert api.delete(f"/api/v2/tickets/{ticket['id']}").status_code == 404


def test_list_tickets_by_offset_and_by_cursor(api):
    ids = [create(api)["id"] for _ in range(3)]
    offset = api.get("/api/v2/tickets.json?per_page=2").json
    assert [t["id"] for t in offset["tickets"]] == ids[:2] and offset["count"] == 3 and offset["next_page"]
    first = api.get("/api/v2/tickets?page[size]=2").json
    assert [t["id"] for t in first["tickets"]] == ids[:2] and first["meta"]["has_more"] is True
    rest = api.get(path_of(first["links"]["next"])).json
    assert [t["id"] for t in rest["tickets"]] == ids[2:] and rest["meta"]["has_more"] is False
