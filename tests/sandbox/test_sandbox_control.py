"""The /_sandbox/ helpers: customers writing in, the outbox, stats and seeding over HTTP."""

from __future__ import annotations

from .support import OUTAGE_DESK_MACROS


def test_customer_ticket_finds_or_creates_the_requester_by_email(api):
    first = api.customer_ticket(requester={"name": "Ivan Petrov", "email": "Ivan@Example.ru", "locale": "ru"})
    second = api.customer_ticket(requester={"name": "I. Petrov", "email": "ivan@example.ru"})
    assert first["requester_id"] == second["requester_id"]
    user = api.state.user(first["requester_id"])
    assert (user["name"], user["email"], user["locale"], user["role"]) == (
        "Ivan Petrov",
        "ivan@example.ru",
        "ru",
        "end-user",
    )
    assert first["via"]["channel"] == "email"
    assert first["via"]["source"]["from"] == {"address": "ivan@example.ru", "name": "Ivan Petrov"}
    assert first["description"] == "The API returns erreur 503"
    comment = api.state.comments_for(first["id"])[0]
    assert comment["author_id"] == first["requester_id"] and comment["public"] is True


def test_unknown_caller_becomes_a_user_named_after_the_phone(api):
    ticket = api.customer_ticket(
        subject="Voicemail from: +33 6 11 22 33 44",
        channel="voice",
        voice_rel="voicemail",
        requester={"name": "Whoever", "phone": "+33 6 11 22 33 44"},
    )
    user = api.state.user(ticket["requester_id"])
    assert (user["name"], user["email"], user["phone"]) == ("+33 6 11 22 33 44", None, "+33 6 11 22 33 44")
    assert ticket["via"]["channel"] == "voice" and ticket["via"]["source"]["rel"] == "voicemail"
    again = api.customer_ticket(channel="voice", requester={"phone": "+33 6 11 22 33 44"})
    assert again["requester_id"] == user["id"]


def test_customer_ticket_can_be_backdated_and_preset(api, agents):
    ticket = api.customer_ticket(
        created_at="2026-11-22T08:30:00+01:00",
        assignee_id=agents["agent"]["id"],
        status="pending",
        priority="high",
        tags=["vip"],
        channel="chat",
    )
    assert ticket["created_at"] == "2026-11-22T07:30:00Z"
    assert (ticket["status"], ticket["priority"], ticket["tags"]) == ("pending", "high", ["vip"])


def test_customer_ticket_validates_its_input(api):
    assert api.client.post("/_sandbox/tickets", json={"description": "x"}).status_code == 400
    assert (
        api.client.post(
            "/_sandbox/tickets", json={"description": "x", "requester": {"email": "a@b.c"}, "channel": "fax"}
        ).status_code
        == 400
    )
    assert api.client.post("/_sandbox/tickets", json={"requester": {"email": "a@b.c"}}).status_code == 400


def test_emails_endpoint_lists_the_outbox(api):
    ticket = api.customer_ticket()
    api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"comment": {"body": "Hello"}}})
    emails = api.client.get("/_sandbox/emails").json["emails"]
    assert [(e["ticket_id"], e["to"], e["body"]) for e in emails] == [(ticket["id"], "ana@example.com", "Hello")]
    assert api.client.get(f"/_sandbox/emails?ticket_id={ticket['id'] + 1}").json["emails"] == []
    assert api.client.get("/_sandbox/stats").json["emails"] == 1


def test_seed_over_http(api):
    body = {"tickets": 40, "seed": 1, "minutes": 30, "macros": OUTAGE_DESK_MACROS}
    response = api.client.post("/_sandbox/seed", json=body)
    assert response.status_code == 201
    assert response.json["tickets"] == 40 and len(api.state.tickets) == 40
    assert response.json["macro_ids"]["Outage Desk closing (en)"] in api.state.macros
