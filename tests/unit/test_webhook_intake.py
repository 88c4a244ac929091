"""POST /webhooks/zendesk: stored before acknowledged, refused with a reason, nothing lost."""

import json

import pytest
from sqlalchemy import select

from app.store.tables import InboxRow

# The store's own INSERT … ON CONFLICT is what dedupes: worth running on both databases.
BOTH_STORES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def inbox(sessions):
    with sessions() as session:
        return list(session.scalars(select(InboxRow).order_by(InboxRow.id)))


def test_a_signed_ticket_event_is_stored_then_acknowledged(webhooks, sessions):
    response = webhooks.ticket_event(4242, "ticket.created")
    assert response.status_code == 202
    rows = inbox(sessions)
    assert [(r.ticket_id, r.event, r.processed_at) for r in rows] == [(4242, "ticket.created", None)]


@BOTH_STORES
def test_a_redelivered_invocation_is_stored_once(webhooks, sessions):
    first = webhooks.ticket_event(7, invocation_id="same-invocation")
    again = webhooks.ticket_event(7, invocation_id="same-invocation")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json() == {"status": "duplicate"}
    assert len(inbox(sessions)) == 1


def test_bad_signature_is_401_and_stores_nothing(webhooks, sessions):
    response = webhooks.ticket_event(7, headers={"X-Zendesk-Webhook-Signature": "bm90IGl0"})
    assert response.status_code == 401
    assert "does not match" in response.get_json()["error"]
    assert inbox(sessions) == []


def test_missing_signature_is_401(client, sessions):
    response = client.post("/webhooks/zendesk", json={"ticket_id": "7", "event": "ticket.created"})
    assert response.status_code == 401
    assert inbox(sessions) == []


def test_stale_timestamp_is_401(webhooks, clock, sessions):
    body = json.dumps({"ticket_id": "7", "event": "ticket.created"}).encode()
    headers = webhooks.signature.headers(body)
    clock.advance(301)
    response = webhooks.client.post("/webhooks/zendesk", data=body, headers=headers)
    assert response.status_code == 401
    assert "stale" in response.get_json()["error"]
    assert inbox(sessions) == []


def test_malformed_json_is_400_with_a_reason(webhooks, sessions):
    response = webhooks.post(b'{"ticket_id": "7", ')
    assert response.status_code == 400
    assert response.get_json() == {"error": "body is not valid JSON"}
    assert inbox(sessions) == []


def test_a_body_without_a_ticket_id_is_400(webhooks):
    response = webhooks.post(json.dumps({"event": "ticket.created", "ticket_id": "{{ticket.id}}"}).encode())
    assert response.status_code == 400
    assert "ticket_id" in response.get_json()["error"]


def test_an_oversized_body_is_413(webhooks, config, sessions):
    body = json.dumps({"ticket_id": "7", "event": "ticket.created",
                       "pad": "x" * config.outage_desk_max_webhook_bytes}).encode()
    response = webhooks.post(body)
    assert response.status_code == 413
    assert inbox(sessions) == []


def test_an_event_we_do_not_handle_gets_a_2xx_so_zendesk_does_not_retry(webhooks, sessions):
    response = webhooks.post(json.dumps({"ticket_id": "7", "event": "user.created"}).encode())
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    assert inbox(sessions) == []


@BOTH_STORES
def test_the_same_ticket_change_delivered_twice_under_new_invocation_ids_is_stored_once(webhooks, sessions):
    body = json.dumps({"ticket_id": "7", "event": "ticket.created", "updated_at": "2026-11-22T11:59:00Z"}).encode()
    first = webhooks.post(body, invocation_id="inv-a")
    again = webhooks.post(body, invocation_id="inv-b")
    later = webhooks.post(json.dumps({"ticket_id": "7", "event": "ticket.created",
                                      "updated_at": "2026-11-22T11:59:30Z"}).encode(), invocation_id="inv-c")
    assert (first.status_code, again.status_code, later.status_code) == (202, 200, 202)
    assert len(inbox(sessions)) == 2


@BOTH_STORES
def test_a_replayed_body_without_updated_at_under_a_new_invocation_header_is_stored_once(webhooks, sessions):
    # The invocation id header is not signed: an attacker replaying a captured delivery can change it.
    body = json.dumps({"ticket_id": "7", "event": "ticket.created"}).encode()
    first = webhooks.post(body, invocation_id="inv-a")
    replayed = webhooks.post(body, invocation_id="inv-chosen-by-the-attacker")
    assert (first.status_code, replayed.status_code) == (202, 200)
    assert replayed.get_json() == {"status": "duplicate"} and len(inbox(sessions)) == 1


def test_the_same_body_without_updated_at_signed_again_later_is_a_delivery_of_its_own(webhooks, sessions, clock):
    # A hand-made trigger firing again for the same ticket: news, not a replay (the timestamp is signed).
    body = json.dumps({"ticket_id": "7", "event": "ticket.created"}).encode()
    first = webhooks.post(body)
    clock.advance(3600)
    later = webhooks.post(body)
    assert (first.status_code, later.status_code) == (202, 202) and len(inbox(sessions)) == 2


def test_deeply_nested_json_is_400_with_a_reason(webhooks, sessions):
    response = webhooks.post(b"[" * 20_000 + b"]" * 20_000)
    assert response.status_code == 400 and "nests too deeply" in response.get_json()["error"]
    assert inbox(sessions) == []


@BOTH_STORES
def test_each_accepted_delivery_answers_with_the_id_it_is_stored_under(webhooks, sessions):
    first = webhooks.ticket_event(7, invocation_id="inv-a")
    assert webhooks.ticket_event(7, invocation_id="inv-a").status_code == 200  # a redelivery, not stored
    second = webhooks.ticket_event(8, invocation_id="inv-b")
    ids = [first.get_json()["id"], second.get_json()["id"]]
    assert [row.id for row in inbox(sessions)] == ids


def test_the_sqlite_store_runs_wal_with_synchronous_normal(app):
    # Every commit survives a process crash, so "stored before the 2xx" holds; OFF could corrupt
    # the file on a power cut.
    engine = app.extensions["outage_desk.sessions"].kw["bind"]
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
