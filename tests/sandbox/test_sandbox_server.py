"""The sandbox over real HTTP: serve_sandbox, requests, and the signed webhooks its triggers send a live receiver."""

from __future__ import annotations

import json

import pytest
import requests

from zendesk_sandbox.clock import SystemClock
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox

from .support import API_EMAIL, API_TOKEN, Receiver, zendesk_signature

CREATED = '{"ticket_id": "{{ticket.id}}", "event": "ticket.created", "status": "{{ticket.status}}"}'
SOLVED = (
    '{"ticket_id": "{{ticket.id}}", "event": "ticket.solved", "updated_at": "{{ticket.updated_at_with_timestamp}}"}'
)


@pytest.fixture
def live():
    app = create_sandbox_app(email=API_EMAIL, api_token=API_TOKEN, clock=SystemClock(), job_delay=0.0)
    server = serve_sandbox(app)
    receiver = Receiver([503])
    session = requests.Session()
    session.auth = (f"{API_EMAIL}/token", API_TOKEN)
    yield server, receiver, session, app.extensions["sandbox"]
    session.close()
    receiver.server.shutdown()
    server.shutdown()


def connect(server, session, endpoint: str) -> str:
    """As an admin would: a trigger webhook, a trigger on new tickets and one on solved tickets; its secret."""
    webhook = {"name": "Receiver", "endpoint": endpoint, "http_method": "POST", "request_format": "json",
               "status": "active", "subscriptions": ["conditional_ticket_events"]}
    created = session.post(f"{server.url}/api/v2/webhooks", json={"webhook": webhook}, timeout=5)
    assert created.status_code == 201
    webhook_id = created.json()["webhook"]["id"]
    for title, condition, body in (
        ("New ticket", {"field": "update_type", "operator": "is", "value": "Create"}, CREATED),
        ("Solved", {"field": "status", "operator": "value", "value": "solved"}, SOLVED),
    ):
        trigger = {"title": title, "conditions": {"all": [condition]},
                   "actions": [{"field": "notification_webhook", "value": [webhook_id, body]}]}
        assert session.post(f"{server.url}/api/v2/triggers", json={"trigger": trigger}, timeout=5).status_code == 201
    return session.get(f"{server.url}/api/v2/webhooks/{webhook_id}/signing_secret", timeout=5).json()[
        "signing_secret"
    ]["secret"]


def test_full_flow_over_http_with_signed_webhooks(live):
    server, receiver, session, sandbox = live
    assert server.url.startswith("http://127.0.0.1:")
    secret = connect(server, session, f"{receiver.server.url}/hooks/zendesk")

    agent = sandbox.state.add_user("Julien Moreau", email="julien@example.com", role="agent", locale="fr")
    created = requests.post(
        f"{server.url}/_sandbox/tickets",
        json={
            "subject": "API en panne",
            "description": "erreur 503",
            "requester": {"name": "Léa Martin", "email": "lea@example.com", "locale": "fr"},
        },
        timeout=5,
    ).json()
    solved = session.put(
        f"{server.url}/api/v2/tickets/{created['id']}.json",
        json={
            "ticket": {
                "status": "solved",
                "assignee_id": agent["id"],
                "comment": {"body": "Bonjour {{ticket.requester.first_name}}"},
            }
        },
        timeout=5,
    )
    assert solved.status_code == 200
    assert solved.headers["X-Rate-Limit"] == "700"
    assert sandbox.webhooks.wait_idle(10)

    deliveries = requests.get(f"{server.url}/_sandbox/webhook/deliveries", timeout=5).json()["deliveries"]
    assert [(json.loads(d["body"])["event"], d["status"], d["response_code"]) for d in deliveries] == [
        ("ticket.created", "delivered", 200),
        ("ticket.solved", "delivered", 200),
    ]
    # The first attempt got a 503 and was retried with the same invocation id.
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [503, 200]
    assert len(receiver.received) == 3
    first_try, retry = receiver.received[0][0], receiver.received[1][0]
    assert first_try["X-Zendesk-Webhook-Invocation-Id"] == retry["X-Zendesk-Webhook-Invocation-Id"]
    assert receiver.received[2][0]["X-Zendesk-Webhook-Invocation-Id"] != retry["X-Zendesk-Webhook-Invocation-Id"]

    for headers, raw in receiver.received:
        assert headers["X-Zendesk-Webhook-Signature"] == zendesk_signature(
            secret, headers["X-Zendesk-Webhook-Signature-Timestamp"], raw)
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Zendesk-Webhook-Id"]
    assert json.loads(receiver.received[0][1]) == {"ticket_id": str(created["id"]), "event": "ticket.created",
                                                   "status": "New"}
    assert json.loads(receiver.received[2][1]) == {"ticket_id": str(created["id"]), "event": "ticket.solved",
                                                   "updated_at": solved.json()["ticket"]["updated_at"]}

    emails = requests.get(f"{server.url}/_sandbox/emails", timeout=5).json()["emails"]
    assert [(e["to"], e["body"]) for e in emails] == [("lea@example.com", "Bonjour Léa")]
    stats = requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()
    assert stats["by_endpoint"]["PUT /api/v2/tickets/{ticket_id}"] == 1


def test_solved_by_a_job_fires_the_webhook_too(live):
    server, receiver, session, sandbox = live
    receiver.statuses.clear()
    connect(server, session, f"{receiver.server.url}/hooks/zendesk")
    agent = sandbox.state.add_user("Emily Carter", email="emily@example.com", role="agent")
    ticket = requests.post(
        f"{server.url}/_sandbox/tickets",
        json={"description": "API down", "requester": {"email": "bob@example.com"}, "assignee_id": agent["id"]},
        timeout=5,
    ).json()
    job = session.put(
        f"{server.url}/api/v2/tickets/update_many?ids={ticket['id']}", json={"ticket": {"status": "solved"}}, timeout=5
    )
    assert job.status_code == 200
    assert sandbox.jobs.wait_idle(10) and sandbox.webhooks.wait_idle(10)
    assert [json.loads(raw)["event"] for _, raw in receiver.received] == ["ticket.created", "ticket.solved"]


def test_unreachable_webhook_is_retried_then_marked_failed(live):
    server, _, session, sandbox = live
    connect(server, session, "http://127.0.0.1:9/nowhere")
    requests.post(
        f"{server.url}/_sandbox/tickets",
        json={"description": "API down", "requester": {"email": "bob@example.com"}},
        timeout=5,
    )
    assert sandbox.webhooks.wait_idle(10)
    delivery = requests.get(f"{server.url}/_sandbox/webhook/deliveries", timeout=5).json()["deliveries"][0]
    assert delivery["status"] == "failed" and len(delivery["attempts"]) == 4
    assert all(attempt["error"] for attempt in delivery["attempts"])
