"""Suspected outages, confirmed by a person: five new tickets on one subject open a suspected incident and
call the referents on Slack, writing nothing to any ticket; an admin or the product referent confirms it
(a declared outage that takes the cluster in) or dismisses it (quiet for the window)."""

from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import cli
from app.clock import SystemClock
from app.errors import StateError
from app.incident.model import State
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.store.tables import IncidentRow, StateChangeRow
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender
from tests.scenarios.conftest import desk_config, outage

SUBJECTS = ["API down", "The API is down!", "api DOWN", "Is the API down?", "api is down"]


@pytest.fixture
def service(account, tmp_path, channel):
    """The worker's desk, the webhooks and the sidebar of one service, with Slack configured."""
    config = replace(desk_config(account, tmp_path), slack_webhook_url=channel.url)
    desk = build_desk(config)
    app = create_app(config).test_client()
    yield desk, WebhookSender(app, WEBHOOK_SECRET, SystemClock()), app
    desk.sessions.kw["bind"].dispose()


@pytest.fixture
def as_user(account, service):
    return account.sidebar_sessions(service[2])


def customers_write(account, webhooks, subjects) -> list[int]:
    ids = [account.write_in(subject) for subject in subjects]
    for ticket_id in ids:
        webhooks.ticket_event(ticket_id)
    return ids


def suspected_cluster(account, service) -> tuple[int, list[int]]:
    desk, webhooks, _ = service
    tickets = customers_write(account, webhooks, SUBJECTS)
    drain_inbox(desk)
    [incident] = desk.suspected_incidents()
    return incident.id, tickets


def changes(desk, incident_id) -> list[tuple]:
    with desk.sessions() as session:
        return [(c.from_state, c.to_state, c.changed_by) for c in session.scalars(
            select(StateChangeRow).where(StateChangeRow.incident_id == incident_id).order_by(StateChangeRow.id))]


def state_of(desk, incident_id) -> str:
    with desk.sessions() as session:
        return session.get(IncidentRow, incident_id).state


def test_five_tickets_open_one_suspected_incident_and_one_alert_and_write_to_no_ticket(account, service, channel,
                                                                                      as_user):
    desk, webhooks, sidebar = service
    tickets = customers_write(account, webhooks, SUBJECTS[:4])
    drain_inbox(desk)
    assert desk.suspected_incidents() == [] and channel.messages == []

    tickets += customers_write(account, webhooks, SUBJECTS[4:])
    as_written = {ticket_id: account.ticket(ticket_id) for ticket_id in tickets}
    drain_inbox(desk)

    [incident] = desk.suspected_incidents()
    assert incident.query == "api down" and incident.problem_ticket_id is None
    assert [row.ticket_id for row in desk.cluster(incident).sightings] == tickets
    assert len(channel.messages) == 1
    assert "5 new tickets in 30 min" in channel.messages[0]
    assert f"suspected outage #{incident.id}" in channel.messages[0]
    assert f"<{account.url}/agent/tickets/{tickets[0]}|#{tickets[0]}>" in channel.messages[0]
    assert {ticket_id: account.ticket(ticket_id) for ticket_id in tickets} == as_written  # nothing written
    assert changes(desk, incident.id) == [(None, "suspected", "detection")]

    # The ones that keep arriving join the cluster, without another alert.
    later = customers_write(account, webhooks, ["Down: the API"])
    drain_inbox(desk)
    assert [i.id for i in desk.suspected_incidents()] == [incident.id] and len(channel.messages) == 1
    agent = account.seed.agent_ids[0]
    state = sidebar.get(f"/api/state?ticket_id={later[0]}", headers=as_user(agent)).get_json()
    assert state["incident"] is None
    suspected = state["suspected"]
    assert (suspected["id"], suspected["tickets"], suspected["ticket_ids"]) == (incident.id, 6, tickets + later)
    assert suspected["can_confirm"] is False and suspected["span_minutes"] >= 0
    assert account.ticket(later[0])["tags"] == as_written[tickets[0]]["tags"]


def test_the_referent_confirms_it_and_the_cluster_is_taken_in(account, service, as_user):
    desk, _, sidebar = service
    incident_id, tickets = suspected_cluster(account, service)
    referent = account.seed.referent_id  # an agent by role: the referent by OUTAGE_DESK_REFERENT
    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(referent)).get_json()
    assert state["suspected"]["can_confirm"] is True

    confirmed = sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=as_user(referent),
                             json={"title": "API down: 503 everywhere"})
    assert confirmed.status_code == 202, confirmed.get_json()
    answer = confirmed.get_json()
    assert answer["incident"]["state"] == "declared" and answer["incident"]["query"] == "api down"
    run_tasks(desk)

    for ticket_id in tickets:
        assert "api_down" in account.ticket(ticket_id)["tags"]
    incident = desk.incident(incident_id)
    assert incident.problem_ticket_id and incident.title == "API down: 503 everywhere"
    assert all(account.ticket(t)["problem_id"] == incident.problem_ticket_id for t in tickets)
    assert changes(desk, incident_id) == [(None, "suspected", "detection"), ("suspected", "declared", str(referent))]
    assert desk.suspected_incidents() == []

    desk.resolve(incident)
    assert [c[1:] for c in changes(desk, incident_id)][2:] == [("resolving", "cli"), ("resolved", "cli")]


def test_a_dismissed_cluster_does_not_alert_again_within_its_window(account, service, channel, as_user):
    desk, webhooks, sidebar = service
    incident_id, tickets = suspected_cluster(account, service)
    admin = account.seed.api_user_id
    dismissed = sidebar.post(f"/api/incidents/{incident_id}/dismiss", headers=as_user(admin))
    assert dismissed.status_code == 200 and dismissed.get_json()["incident"]["state"] == "dismissed"

    customers_write(account, webhooks, SUBJECTS)
    drain_inbox(desk)

    assert desk.suspected_incidents() == [] and len(channel.messages) == 1
    assert changes(desk, incident_id) == [(None, "suspected", "detection"), ("suspected", "dismissed", str(admin))]
    assert all("api_down" not in account.ticket(t)["tags"] for t in tickets)
    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(admin)).get_json()
    assert state["suspected"] is None and state["incident"] is None


def test_an_agent_can_neither_confirm_nor_dismiss(account, service, as_user):
    desk, _, sidebar = service
    incident_id, tickets = suspected_cluster(account, service)
    agent = account.seed.agent_ids[0]
    for action in ("confirm", "dismiss"):
        refused = sidebar.post(f"/api/incidents/{incident_id}/{action}", headers=as_user(agent), json={})
        assert refused.status_code == 403 and "admins and the product referent" in refused.get_json()["error"]
    run_tasks(desk)
    assert state_of(desk, incident_id) == State.SUSPECTED
    assert changes(desk, incident_id) == [(None, "suspected", "detection")]
    assert all("api_down" not in account.ticket(t)["tags"] for t in tickets)


@pytest.mark.parametrize("body, status, reason", [
    ({"query": "subject:\"unbalanced"}, 400, "search query"),
    ({"severity": "high"}, 400, "severity"),
    ({"severity": 9}, 400, "severity"),
    ({"title": " "}, 400, "title"),
    ({"title": ["API"]}, 400, "text"),
    ("not json", 400, "JSON"),
])
def test_a_confirm_with_bad_input_is_refused_with_its_reason(account, service, as_user, body, status, reason):
    desk, _, sidebar = service
    incident_id, _ = suspected_cluster(account, service)
    admin = account.seed.api_user_id
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
    refused = sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=as_user(admin), **kwargs)
    assert refused.status_code == status and reason in refused.get_json()["error"], refused.get_json()
    assert state_of(desk, incident_id) == State.SUSPECTED


def test_confirming_what_is_not_suspected_says_why(account, service, as_user):
    desk, _, sidebar = service
    incident_id, _ = suspected_cluster(account, service)
    admin = as_user(account.seed.api_user_id)

    missing = sidebar.post("/api/incidents/999999/confirm", headers=admin)
    assert missing.status_code == 404 and "no incident #999999" in missing.get_json()["error"]

    running = desk.open_incident(outage(account))  # the outage tag is already taken
    taken = sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=admin)
    assert taken.status_code == 409 and "'api_down' is already active" in taken.get_json()["error"]
    assert state_of(desk, incident_id) == State.SUSPECTED

    with pytest.raises(StateError, match="is suspected: only a declared outage is resolved"):
        desk.resolve(desk.incident(incident_id))
    declared = sidebar.post(f"/api/incidents/{running.id}/dismiss", headers=admin)
    assert declared.status_code == 409 and "is declared, not suspected" in declared.get_json()["error"]
    assert sidebar.post(f"/api/incidents/{incident_id}/dismiss", headers=admin).status_code == 200
    again = sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=admin)
    assert again.status_code == 409 and "is dismissed, not suspected" in again.get_json()["error"]


def test_status_shows_the_suspicion_and_who_changed_each_state(account, service, as_user, tmp_path):
    desk, _, sidebar = service
    incident_id, tickets = suspected_cluster(account, service)
    shown = status(desk)
    assert "Suspected outages" in shown and "api down" in shown
    assert f"Incident #{incident_id}: suspected by detection at " in shown

    admin = account.seed.api_user_id
    assert sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=as_user(admin)).status_code == 202
    shown = status(desk)
    assert "Suspected outages" not in shown and "declared" in shown
    assert "suspected by detection at " in shown and f", declared by {admin} at " in shown


def status(desk) -> str:
    """`outage-desk status` on the desk's store, as an operator reads it."""
    result = CliRunner().invoke(cli, ["status"], env={"DATABASE_URL": str(desk.sessions.kw["bind"].url),
                                                      "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output
