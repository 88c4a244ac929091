"""The sandbox's own reading of Zendesk's search syntax, as a client sees it through /search."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from .support import create


@pytest.fixture
def api(make_api):
    """Search indexes at once here: these tests are about what a query finds, not when."""
    return make_api(index_delay=0)


def found(api, query: str) -> set[int]:
    response = api.get(f"/api/v2/search.json?query={quote(query)}")
    assert response.status_code == 200, response.json
    return {result["id"] for result in response.json["results"]}


@pytest.fixture
def tickets(api, agents):
    """Five tickets whose differences the queries below pick apart."""
    return {
        "toppings": create(api, subject="Dessert Toppings order", tags=["vip", "billing"], priority="low"),
        "desktop": create(api, subject="Desktop Solutions renewal", tags=["vip"], priority="urgent"),
        "tiptop": create(api, subject="Tip-Top Mops", tags=["billing"], status="pending", priority="normal"),
        "api": api.customer_ticket(subject="L'API est en panne", description="erreur 503 sur tous les appels"),
        "call": api.customer_ticket(
            subject="Call", description="Voicemail", channel="voice", voice_rel="voicemail",
            requester={"name": "+33 6 11", "phone": "+33 6 11"},
        ),
    }


def ids(tickets, *names) -> set[int]:
    return {tickets[name]["id"] for name in names}


def test_a_word_matches_whole_words_and_word_starts_never_their_middle(api, tickets):
    assert found(api, "top") == ids(tickets, "toppings", "tiptop")
    assert found(api, "TOP") == ids(tickets, "toppings", "tiptop")
    assert found(api, "api") == ids(tickets, "api")
    assert found(api, "503") == ids(tickets, "api")


def test_a_quoted_phrase_needs_its_words_in_a_row(api, tickets):
    assert found(api, '"en panne"') == ids(tickets, "api")
    assert found(api, '"panne en"') == set()


def test_tags_listed_twice_find_either_and_quoted_tags_find_both(api, tickets):
    assert found(api, "tags:vip tags:billing") == ids(tickets, "toppings", "desktop", "tiptop")
    assert found(api, 'tags:"vip billing"') == ids(tickets, "toppings")
    assert found(api, "tags:none") == ids(tickets, "api", "call")


def test_minus_excludes(api, tickets):
    assert found(api, "tags:vip -tags:billing") == ids(tickets, "desktop")
    assert found(api, "top -mops") == ids(tickets, "toppings")


def test_status_and_priority_compare_in_zendesk_order(api, tickets):
    assert found(api, "status<pending") == ids(tickets, "toppings", "desktop", "api", "call")
    assert found(api, "status>=pending") == ids(tickets, "tiptop")
    assert found(api, "priority>low") == ids(tickets, "desktop", "tiptop")
    assert found(api, "priority<=normal") == ids(tickets, "toppings", "tiptop")
    assert found(api, "priority:none") == ids(tickets, "api", "call")


def test_via_phone_finds_voicemails_and_there_is_no_via_voice(api, tickets):
    assert found(api, "via:phone") == ids(tickets, "call")
    assert found(api, "via:voicemail") == ids(tickets, "call")
    assert found(api, "via:voice") == set()
    assert found(api, "via:mail") == ids(tickets, "api")
    assert found(api, "via:api") == ids(tickets, "toppings", "desktop", "tiptop")


def test_dates_compare_by_day_time_or_relative_time(api, tickets, clock):
    assert len(found(api, "created:2026-11-22")) == 5
    assert found(api, "created>2026-11-22") == set() == found(api, "created<2026-11-22")
    assert len(found(api, "created>=2026-11-22T10:00:00Z created<=2026-11-22T10:00:00Z")) == 5
    clock.advance(3 * 3600)
    later = create(api, subject="later")
    assert found(api, "created>2hours") == {later["id"]}
    assert api.get("/api/v2/search?query=created>yesterday").status_code == 400


def test_subject_and_description_narrow_a_word_to_one_field(api, tickets):
    assert found(api, "subject:api") == ids(tickets, "api")
    assert found(api, "description:503") == ids(tickets, "api")
    assert found(api, "subject:503") == set()


def test_custom_fields_by_value_set_or_blank(api, agents):
    field_id = api.post(
        "/api/v2/ticket_fields", json={"ticket_field": {"type": "text", "title": "Order"}}
    ).json["ticket_field"]["id"]
    with_value = create(api, custom_fields=[{"id": field_id, "value": "A-42"}])
    without = create(api)
    assert found(api, f"custom_field_{field_id}:a-42") == {with_value["id"]}
    assert found(api, f"custom_field_{field_id}:*") == {with_value["id"]}
    assert found(api, f"-custom_field_{field_id}:*") == {without["id"]}


def test_people_by_none_me_id_email_or_name(api, agents):
    mine = create(api, assignee_id=1)
    julien = create(api, assignee_id=agents["agent"]["id"], requester_id=agents["customer"]["id"])
    nobody = create(api)
    assert found(api, "assignee:none") == {nobody["id"]}
    assert found(api, "assignee:me") == {mine["id"]}
    assert found(api, f"assignee:{agents['agent']['id']}") == {julien["id"]}
    assert found(api, "assignee:julien@example.com") == {julien["id"]}
    assert found(api, 'requester:"Ana Lima"') == {julien["id"]}


def test_a_bare_number_is_also_a_ticket_id(api, tickets):
    ticket_id = tickets["desktop"]["id"]
    assert found(api, str(ticket_id)) == {ticket_id}


def test_order_by_and_sort_order_the_results(api, tickets, clock):
    clock.advance(60)
    api.put(f"/api/v2/tickets/{tickets['toppings']['id']}", json={"ticket": {"status": "open"}})
    body = api.get(f"/api/v2/search?query={quote('type:ticket order_by:updated sort:desc')}").json
    assert body["results"][0]["id"] == tickets["toppings"]["id"]


def test_keywords_the_sandbox_does_not_model_are_refused_not_ignored(api):
    for query in ("group:support", "organization:acme", "order_by:commented", "sort:sideways", "status<"):
        response = api.get(f"/api/v2/search?query={quote(query)}")
        assert response.status_code == 400 and response.json["error"] == "invalid", query
