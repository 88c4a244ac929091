"""From the sidebar: declare from a ticket, attach one more, resolve as an admin — the worker does the rest."""

import pytest

from app.jobs.tasks import run_tasks
from app.web import create_app
from tests.scenarios.conftest import desk_config


@pytest.fixture
def sidebar(account, tmp_path, desk):
    return create_app(desk_config(account, tmp_path)).test_client()


@pytest.fixture
def as_user(account, sidebar):
    return account.sidebar_sessions(sidebar)


def test_declare_from_a_ticket_then_attach_then_resolve_from_the_sidebar(account, desk, sidebar, as_user):
    agent, admin = account.seed.agent_ids[0], account.seed.api_user_id
    origin = account.write_in("Plus rien ne marche depuis 10h", locale="fr")  # no "API": only the origin brings it in
    other = account.write_in("Invoice question, but also a 503 on login")

    declared = sidebar.post("/api/incidents", headers=as_user(agent),
                            json={"ticket_id": origin, "title": "API down", "query": "API", "severity": 2})
    assert declared.status_code == 202
    incident_id = declared.get_json()["incident"]["id"]
    run_tasks(desk)

    state = sidebar.get(f"/api/state?ticket_id={origin}", headers=as_user(agent)).get_json()
    assert state["ticket"]["attached"] is True and state["incident"]["tickets"] > 1
    assert "api_down" in account.ticket(origin)["tags"]
    assert account.ticket(origin)["problem_id"] == state["incident"]["problem_ticket_id"]

    sidebar.post(f"/api/incidents/{incident_id}/tickets", headers=as_user(agent), json={"ticket_id": other})
    run_tasks(desk)
    assert "api_down" in account.ticket(other)["tags"]

    mark = len(account.state.emails)
    resolved = sidebar.post(f"/api/incidents/{incident_id}/resolve", headers=as_user(admin))
    assert resolved.status_code == 202
    run_tasks(desk)
    closing = [e["ticket_id"] for e in account.emails_since(mark)]
    assert closing.count(origin) == 1 and closing.count(other) == 1
    assert account.ticket(origin)["status"] == "solved"
