"""zenpy, pointed at the sandbox, gets the shapes it expects from Zendesk."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket
from zenpy.lib.exception import APIException

from zendesk_sandbox.clock import SystemClock
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox

from .support import API_EMAIL, API_TOKEN


@pytest.fixture
def zenpy_client(monkeypatch):
    app = create_sandbox_app(email=API_EMAIL, api_token=API_TOKEN, clock=SystemClock(), job_delay=0.0, index_delay=0)
    server = serve_sandbox(app)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", urlsplit(server.url).netloc)
    client = Zenpy(subdomain="outage-desk", email=API_EMAIL, token=API_TOKEN)
    yield client, app.extensions["sandbox"]
    server.shutdown()


def test_zenpy_round_trip(zenpy_client):
    client, sandbox = zenpy_client
    assert client.users.me().name == "Outage Desk API"
    agent = sandbox.state.add_user("Julien Moreau", email="julien@example.com", role="agent", locale="fr")
    customer = sandbox.state.add_user("Léa Martin", email="lea@example.com", locale="fr")

    problem = client.tickets.create(
        Ticket(subject="API outage", type="problem", comment=Comment(body="Tracking"))
    ).ticket
    incident = client.tickets.create(
        Ticket(
            subject="API en panne",
            requester_id=customer["id"],
            comment=Comment(body="erreur 503", author_id=customer["id"]),
        )
    ).ticket
    assert problem.type == "problem" and incident.requester_id == customer["id"]

    job = client.tickets.update(
        [Ticket(id=incident.id, type="incident", problem_id=problem.id, priority="high", assignee_id=agent["id"])]
    )
    deadline = time.monotonic() + 5
    while job.status not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.02)
        job = client.job_status(id=job.id)
    assert job.status == "completed" and next(iter(job.results)).success is True

    found = list(client.search("API", type="ticket"))
    assert {t.id for t in found} == {problem.id, incident.id}

    macro = sandbox.state.add_macro(
        "Close (fr)",
        [
            {"field": "comment_value", "value": ["channel:all", "Bonjour {{ticket.requester.first_name}}"]},
            {"field": "status", "value": "solved"},
        ],
        created_at="2026-01-01T00:00:00Z",
    )
    effect = client.tickets.show_macro_effect(incident.id, macro["id"])
    assert effect.ticket.comment.body == "Bonjour Léa"
    assert sandbox.state.ticket(incident.id)["status"] == "open"

    # The documented pattern: send the macro's result back through the Tickets API.
    assert client.tickets.update(effect.ticket).ticket.status == "solved"
    problem_update = Ticket(id=problem.id, status="solved", assignee_id=agent["id"], comment=Comment(body="Fixed."))
    assert client.tickets.update(problem_update).ticket.status == "solved"
    # The incident was solved before its problem, so the problem's comment did not email it again.
    assert [e["body"] for e in sandbox.state.emails_for(incident.id)] == ["Bonjour Léa"]


def test_zenpy_search_export_puts_type_in_the_query_which_the_sandbox_refuses(zenpy_client):
    client, _ = zenpy_client
    # zenpy sends filter[type]=ticket AND type:ticket; the docs say the latter is an error.
    with pytest.raises(APIException):
        list(client.search_export("API", type="ticket"))
