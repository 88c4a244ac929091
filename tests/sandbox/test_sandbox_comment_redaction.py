"""Redact String in Comment: the string's characters become ▇; a closed ticket, an unknown comment, no text refused."""

from __future__ import annotations

KEY = "sk_live_51NzQpLx8RvT2mKd9WcYb3HsFjA7eUq4G"


def first_comment(api, ticket_id):
    return api.get(f"/api/v2/tickets/{ticket_id}/comments.json").json["comments"][0]


def test_the_string_is_replaced_by_as_many_blocks_everywhere_in_the_comment(api):
    ticket = api.customer_ticket(description=f"key {KEY} (again: {KEY})")
    comment = first_comment(api, ticket["id"])
    middle = KEY[8:-4]

    response = api.put(f"/api/v2/tickets/{ticket['id']}/comments/{comment['id']}/redact.json", json={"text": middle})

    assert response.status_code == 200
    redacted = f"sk_live_{'▇' * len(middle)}{KEY[-4:]}"
    assert response.json["comment"]["plain_body"] == f"key {redacted} (again: {redacted})"
    stored = first_comment(api, ticket["id"])
    assert middle not in stored["body"] and middle not in stored["html_body"] and middle not in stored["plain_body"]


def test_a_closed_tickets_comments_can_no_longer_be_redacted(api, agents):
    ticket = api.customer_ticket(description=f"key {KEY}", assignee_id=agents["agent"]["id"], status="closed")
    comment = first_comment(api, ticket["id"])

    response = api.put(f"/api/v2/tickets/{ticket['id']}/comments/{comment['id']}/redact.json", json={"text": KEY})

    assert response.status_code == 422 and response.json["details"]["status"][0]["error"] == "ClosedTicket"
    assert KEY in first_comment(api, ticket["id"])["body"]


def test_an_unknown_comment_or_a_missing_text_is_refused(api):
    ticket = api.customer_ticket(description=f"key {KEY}")
    comment = first_comment(api, ticket["id"])
    base = f"/api/v2/tickets/{ticket['id']}/comments"

    assert api.put(f"{base}/{comment['id'] + 999}/redact.json", json={"text": KEY}).status_code == 404
    elsewhere = f"/api/v2/tickets/999999/comments/{comment['id']}/redact.json"
    assert api.put(elsewhere, json={"text": KEY}).status_code == 404
    missing = api.put(f"{base}/{comment['id']}/redact.json", json={"text": ""})
    assert missing.status_code == 400 and missing.json["error"] == "InvalidParameter"
