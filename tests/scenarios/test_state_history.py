"""Each incident's state changes, with who or what made them, in the sidebar's state and the report; and a
suspicion nobody decided on that goes quiet expires on the worker's clock."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from app.clock import SystemClock
from app.incident.model import State
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import FrozenClock, WebhookSender
from tests.scenarios.conftest import desk_config
from tests.scenarios.test_cli import outage_desk
from tests.scenarios.test_suspected_incidents import (  # noqa: F401 - fixtures
    SUBJECTS, as_user, changes, customers_write, service, state_of, suspected_cluster,
)

WINDOW = timedelta(minutes=30)  # OUTAGE_DESK_DETECT_WINDOW_MINUTES, by default
# The expiry is one conditional UPDATE with a correlated subquery: on both databases.
BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def test_the_sidebar_state_and_the_report_show_who_changed_each_state(account, service, as_user,  # noqa: F811
                                                                      tmp_path):
    desk, _, sidebar = service
    incident_id, tickets = suspected_cluster(account, service)
    referent = account.seed.referent_id
    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(referent)).get_json()
    assert [(c["from"], c["to"], c["by"]) for c in state["suspected"]["changes"]] == [(None, "suspected", "detection")]
    assert sidebar.post(f"/api/incidents/{incident_id}/confirm", headers=as_user(referent)).status_code == 202
    run_tasks(desk)
    desk.resolve(desk.incident(incident_id))  # `outage-desk resolve`
    expected = [(None, "suspected", "detection"), ("suspected", "declared", str(referent)),
                ("declared", "resolving", "cli"), ("resolving", "resolved", "cli")]

    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(referent)).get_json()
    assert state["incident"]["state"] == "resolved"
    assert [(c["from"], c["to"], c["by"]) for c in state["incident"]["changes"]] == expected
    moments = [datetime.fromisoformat(c["at"]) for c in state["incident"]["changes"]]
    assert moments == sorted(moments)

    store = {"DATABASE_URL": str(desk.sessions.kw["bind"].url)}
    as_json = outage_desk(account, tmp_path, "report", "--format", "json", env_overrides=store)
    as_html = outage_desk(account, tmp_path, "report", "--output", "report.html", env_overrides=store)
    assert as_json.returncode == as_html.returncode == 0, as_json.stderr + as_html.stderr
    report = json.loads(as_json.stdout)
    assert [(c["from"], c["to"], c["by"]) for c in report["state_changes"]] == expected
    assert all(c["at"].endswith("Z") for c in report["state_changes"])
    page = (tmp_path / "report.html").read_text()
    assert "<h2>State changes</h2>" in page
    for change in report["state_changes"]:
        assert f"<td>{change['at']}</td><td>{change['from'] or ''}</td><td>{change['to']}</td>" \
               f"<td>{change['by']}</td>" in page


@pytest.fixture
def clocked(account, tmp_path, channel):
    """The worker's desk on a clock the test moves; the sidebar and the webhooks on the real one (the
    sessions Zendesk signs are minutes old at most)."""
    clock = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    config = replace(desk_config(account, tmp_path), slack_webhook_url=channel.url)
    desk = build_desk(config, clock)
    app = create_app(config).test_client()
    yield clock, desk, WebhookSender(app, WEBHOOK_SECRET, SystemClock()), app
    desk.sessions.kw["bind"].dispose()


def write_in_now(account, webhooks, clock, subjects) -> list[int]:
    """Customers write in at the worker's present."""
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [account.write_in(subject, created_at=at) for subject in subjects]
    for ticket_id in ids:
        webhooks.ticket_event(ticket_id)
    return ids


@BOTH
def test_a_suspicion_whose_cluster_goes_quiet_for_the_window_expires(account, clocked, channel):
    clock, desk, webhooks, sidebar = clocked
    as_user = account.sidebar_sessions(sidebar)
    tickets = write_in_now(account, webhooks, clock, SUBJECTS)
    drain_inbox(desk)
    [incident] = desk.suspected_incidents()
    clock.advance(20 * 60)
    tickets += write_in_now(account, webhooks, clock, ["Down: the API"])  # the cluster still grows
    drain_inbox(desk)

    clock.advance(20 * 60)
    run_tasks(desk)
    assert state_of(desk, incident.id) == State.SUSPECTED  # its last ticket is 20 minutes old

    clock.advance(WINDOW.total_seconds() - 20 * 60 + 1)
    run_tasks(desk)

    assert state_of(desk, incident.id) == "expired" and desk.suspected_incidents() == []
    assert changes(desk, incident.id) == [(None, "suspected", "detection"), ("suspected", "expired", "worker")]
    agent = account.seed.agent_ids[0]
    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(agent)).get_json()
    assert state["suspected"] is None and state["incident"] is None
    assert len(channel.messages) == 1 and all("api_down" not in account.ticket(t)["tags"] for t in tickets)

    # The subject comes back: a fresh suspicion, and a fresh alert.
    write_in_now(account, webhooks, clock, SUBJECTS)
    drain_inbox(desk)
    [again] = desk.suspected_incidents()
    assert again.id != incident.id and len(channel.messages) == 2


@BOTH
def test_a_dismissed_cluster_stays_quiet_for_its_window_while_the_worker_expires_suspicions(account, clocked,
                                                                                            channel):
    clock, desk, webhooks, sidebar = clocked
    as_user = account.sidebar_sessions(sidebar)
    write_in_now(account, webhooks, clock, SUBJECTS)
    drain_inbox(desk)
    [incident] = desk.suspected_incidents()
    dismissed = sidebar.post(f"/api/incidents/{incident.id}/dismiss", headers=as_user(account.seed.api_user_id))
    assert dismissed.status_code == 200

    clock.advance(10 * 60)
    write_in_now(account, webhooks, clock, SUBJECTS)
    drain_inbox(desk)
    run_tasks(desk)
    clock.advance(15 * 60)
    run_tasks(desk)

    assert desk.suspected_incidents() == [] and len(channel.messages) == 1
    assert state_of(desk, incident.id) == State.DISMISSED
    assert [c[1] for c in changes(desk, incident.id)] == ["suspected", "dismissed"]
