"""The status page declares and resolves: its incident webhook, on the URL `outage-desk status-webhook` printed,
declares the mapped component's incident (or promotes a suspected one), and its "resolved" starts the resolve,
or waits for an admin or the product referent to confirm it when the admin chose so. Each delivery is acted on
once, by the worker; Slack hears each step."""

import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from app.cli import cli
from app.clock import SystemClock
from app.config import load_config
from app.errors import ConfigError
from app.incident.model import State
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.store.tables import AffectedTicketRow, SettingRow, StateChangeRow, StatusEventRow
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import SECRET_KEY, WEBHOOK_SECRET
from tests.helpers import WebhookSender
from tests.scenarios.conftest import desk_config

COMPONENTS = json.dumps({"API": {"tag": "api_down", "query": "API"}})
SERVICE_URL = "https://outage-desk.example.com"


class StatusPageHook:
    """The status page's webhook subscription: posts to the URL the admin pasted into it."""

    def __init__(self, client, path: str):
        self.client = client
        self.path = path

    def post(self, body, path: str | None = None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(path or self.path, data=data, headers={"Content-Type": "application/json"})


def statuspage_incident(account, status: str, updated_at: str, components=("API",), name="Elevated API errors") -> dict:
    """Statuspage's incident webhook body, as its documentation shows it."""
    created = (account.start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    listed = [{"id": f"cmp{i}", "name": component, "status": "major_outage", "page_id": "pg1"}
              for i, component in enumerate(components)]
    return {
        "meta": {"unsubscribe": "https://status.example.com/?unsubscribe=x1", "generated_at": updated_at,
                 "documentation": "https://doers.statuspage.io/customer-notifications/webhooks/"},
        "page": {"id": "pg1", "status_indicator": "major", "status_description": "Partial System Outage"},
        "incident": {"id": "inc42", "name": name, "status": status, "impact": "major", "created_at": created,
                     "updated_at": updated_at, "shortlink": "https://stspg.io/x", "page_id": "pg1",
                     "incident_updates": [{"id": f"upd-{updated_at}", "status": status, "body": "We are on it.",
                                           "incident_id": "inc42", "created_at": updated_at,
                                           "affected_components": [{"code": c["id"], "name": c["name"],
                                                                    "old_status": "operational",
                                                                    "new_status": "major_outage"} for c in listed]}],
                     "components": listed},
    }


def status_webhook_url(config) -> str:
    """The admin runs `outage-desk status-webhook` and pastes the URL it prints into the status page."""
    result = CliRunner().invoke(cli, ["status-webhook", "--service-url", SERVICE_URL],
                                env={"DATABASE_URL": config.database_url, "OUTAGE_DESK_SECRET_KEY": SECRET_KEY})
    assert result.exit_code == 0, result.output
    return result.output.strip()


def start_service(account, tmp_path, channel, **settings):
    config = replace(desk_config(account, tmp_path), slack_webhook_url=channel.url,
                     outage_desk_status_components=COMPONENTS, **settings)
    url = status_webhook_url(config)
    desk = build_desk(config)
    client = create_app(config).test_client()
    return desk, StatusPageHook(client, urlsplit(url).path), client


@pytest.fixture
def service(account, tmp_path, channel):
    desk, hook, client = start_service(account, tmp_path, channel)
    yield desk, hook, client
    desk.sessions.kw["bind"].dispose()


@pytest.fixture
def confirming_service(account, tmp_path, channel):
    desk, hook, client = start_service(account, tmp_path, channel, outage_desk_status_resolve="confirm")
    yield desk, hook, client
    desk.sessions.kw["bind"].dispose()


def said(channel) -> list[str]:
    """What Slack heard of the outage's steps (the agent settings' checklist has tests of its own)."""
    return [m for m in channel.messages if not m.startswith(":clipboard:")]


def changes(desk, incident_id) -> list[tuple]:
    with desk.sessions() as session:
        return [(c.from_state, c.to_state, c.changed_by) for c in session.scalars(
            select(StateChangeRow).where(StateChangeRow.incident_id == incident_id).order_by(StateChangeRow.id))]


def affected_tickets(desk, incident_id) -> list[int]:
    with desk.sessions() as session:
        return list(session.scalars(select(AffectedTicketRow.ticket_id).where(AffectedTicketRow.incident_id == incident_id)))


def stored_events(desk) -> int:
    with desk.sessions() as session:
        return session.scalar(select(func.count()).select_from(StatusEventRow))


def declared_by_the_status_page(account, service):
    desk, hook, _ = service
    accepted = hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z"))
    assert accepted.status_code == 202 and accepted.get_json()["status"] == "accepted"
    run_tasks(desk)
    [incident] = desk.active_incidents()
    return incident


def test_the_url_carries_a_token_stored_encrypted_and_printed_the_same_until_rotated(account, tmp_path, channel):
    config = replace(desk_config(account, tmp_path), outage_desk_status_components=COMPONENTS)
    url = status_webhook_url(config)
    assert url.startswith(f"{SERVICE_URL}/webhooks/status/") and len(url.rsplit("/", 1)[1]) >= 40
    assert status_webhook_url(config) == url
    desk = build_desk(config, zendesk=False)
    with desk.sessions() as session:
        assert url.rsplit("/", 1)[1] not in session.get(SettingRow, "status_webhook_token").value
    rotated = CliRunner().invoke(cli, ["status-webhook", "--service-url", SERVICE_URL, "--rotate"],
                                 env={"DATABASE_URL": config.database_url, "OUTAGE_DESK_SECRET_KEY": SECRET_KEY})
    assert rotated.exit_code == 0 and rotated.output.strip() != url
    desk.sessions.kw["bind"].dispose()


def test_investigating_declares_the_components_incident_and_the_worker_tags_its_tickets(account, service, channel,
                                                                                        caplog):
    caplog.set_level(logging.DEBUG)
    desk, hook, _ = service
    accepted = hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z"))
    assert accepted.status_code == 202
    assert desk.active_incidents() == [] and said(channel) == []  # stored; the worker acts

    run_tasks(desk)

    [incident] = desk.active_incidents()
    assert (incident.title, incident.kind, incident.tag, incident.query) == ("Elevated API errors", "status_page",
                                                                             "api_down", "API")
    assert incident.started_at == account.start.replace(microsecond=0) and incident.severity == 2
    tickets = affected_tickets(desk, incident.id)
    assert len(tickets) > 5
    for ticket_id in tickets:
        ticket = account.ticket(ticket_id)
        assert "api_down" in ticket["tags"] and ticket["problem_id"] == incident.problem_ticket_id
    assert changes(desk, incident.id) == [(None, "declared", "status page")]
    told, declared = said(channel)
    assert ("Status page: *Elevated API errors* is investigating (API): declared incident "
            f"#{incident.id} (tag api_down)") in told
    assert f"Outage declared: *Elevated API errors*. {len(tickets)} tickets taken in" in declared
    assert hook.path.rsplit("/", 1)[1] not in caplog.text  # the token is never logged


def test_a_status_page_that_said_investigating_then_resolved_while_the_worker_was_down_is_followed_in_order(
        account, service, channel):
    desk, hook, _ = service
    assert hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z")).status_code == 202
    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T10:20:00.000Z")).status_code == 202

    run_tasks(desk)  # declares and takes the tickets in; the resolve waits for the backfill
    [incident] = desk.active_incidents()
    assert incident.state == State.DECLARED and incident.backfilled_at is not None
    taken = affected_tickets(desk, incident.id)
    mark = len(account.state.emails)

    run_tasks(desk)
    assert desk.incident(incident.id).state == State.RESOLVED
    closing = Counter(email["ticket_id"] for email in account.emails_since(mark))
    assert set(closing) <= set(taken) and set(closing.values()) == {1}
    assert len(closing) == desk.progress(incident.id).notified > 0
    assert [c[1:] for c in changes(desk, incident.id)] == [("declared", "status page"), ("resolving", "status page"),
                                                          ("resolved", "worker")]


def test_a_redelivery_is_processed_once_and_a_later_status_changes_nothing_declared(account, service, channel):
    desk, hook, _ = service
    body = statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z")
    assert hook.post(body).status_code == 202
    again = hook.post(body)
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    run_tasks(desk)
    assert hook.post(body).get_json() == {"status": "duplicate"}
    [incident] = desk.active_incidents()
    told = len(said(channel))

    assert hook.post(statuspage_incident(account, "identified", "2026-11-22T10:05:00.000Z")).status_code == 202
    run_tasks(desk)

    assert [i.id for i in desk.active_incidents()] == [incident.id] and stored_events(desk) == 2
    assert changes(desk, incident.id) == [(None, "declared", "status page")]
    assert len(said(channel)) == told  # the status page said nothing new


def test_resolved_resolves_and_each_customer_gets_one_closing_email(account, service, channel):
    desk, hook, _ = service
    incident = declared_by_the_status_page(account, service)
    tickets = affected_tickets(desk, incident.id)
    mark = len(account.state.emails)

    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T11:00:00.000Z")).status_code == 202
    run_tasks(desk)

    assert desk.incident(incident.id).state == State.RESOLVED
    emails = Counter(email["ticket_id"] for email in account.emails_since(mark))
    assert set(emails) <= set(tickets) and set(emails.values()) == {1}
    notified = desk.progress(incident.id).notified
    assert len(emails) == notified > 0
    assert [c[1:] for c in changes(desk, incident.id)] == [("declared", "status page"), ("resolving", "status page"),
                                                          ("resolved", "worker")]
    assert f"resolving incident #{incident.id}: its {len(tickets)} tickets get the closing email" in said(channel)[-2]
    assert f"{notified} customers got the closing email" in said(channel)[-1]

    # Redelivered, or said again later: nobody hears twice.
    told = len(said(channel))
    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T11:00:00.000Z")).status_code == 200
    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T11:30:00.000Z")).status_code == 202
    run_tasks(desk)
    assert len(account.emails_since(mark)) == notified and len(said(channel)) == told + 1
    assert "no declared incident with tag api_down to resolve" in said(channel)[-1]


def test_with_confirmation_chosen_the_resolve_waits_for_an_admin_or_the_referent(account, confirming_service, channel):
    desk, hook, sidebar = confirming_service
    incident = declared_by_the_status_page(account, confirming_service)
    tickets = affected_tickets(desk, incident.id)
    as_user = account.sidebar_sessions(sidebar)
    mark = len(account.state.emails)

    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T11:00:00.000Z")).status_code == 202
    run_tasks(desk)

    assert desk.incident(incident.id).state == State.DECLARED and account.emails_since(mark) == []
    assert (f"incident #{incident.id} ({len(tickets)} tickets) waits for an admin or the product referent to confirm "
            "the resolve in the Outage Desk sidebar") in said(channel)[-1]
    agent, admin = account.seed.agent_ids[0], account.seed.api_user_id
    shown = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(agent)).get_json()["status_resolve"]
    assert (shown["incident_id"], shown["name"], shown["can_confirm"]) == (incident.id, "Elevated API errors", False)
    refused = sidebar.post(f"/api/incidents/{incident.id}/confirm-resolve", headers=as_user(agent))
    assert refused.status_code == 403 and "admins and the product referent" in refused.get_json()["error"]
    run_tasks(desk)
    assert desk.incident(incident.id).state == State.DECLARED and account.emails_since(mark) == []

    assert sidebar.get(f"/api/state?ticket_id={tickets[0]}",
                       headers=as_user(admin)).get_json()["status_resolve"]["can_confirm"] is True
    assert "the status page said resolved at" in status(desk)
    confirmed = sidebar.post(f"/api/incidents/{incident.id}/confirm-resolve", headers=as_user(admin))
    assert confirmed.status_code == 202 and confirmed.get_json()["incident"]["state"] == "resolving"
    run_tasks(desk)

    assert desk.incident(incident.id).state == State.RESOLVED
    assert len(account.emails_since(mark)) == desk.progress(incident.id).notified > 0
    assert [c[1:] for c in changes(desk, incident.id)][1:] == [("resolving", str(admin)), ("resolved", "worker")]
    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(admin)).get_json()
    assert state["status_resolve"] is None
    again = sidebar.post(f"/api/incidents/{incident.id}/confirm-resolve", headers=as_user(admin))
    assert again.status_code == 409


def test_a_resolve_waiting_for_confirmation_is_withdrawn_when_the_status_page_reopens_the_incident(
        account, confirming_service, channel):
    desk, hook, sidebar = confirming_service
    incident = declared_by_the_status_page(account, confirming_service)
    tickets = affected_tickets(desk, incident.id)
    as_user = account.sidebar_sessions(sidebar)
    admin = account.seed.api_user_id
    assert hook.post(statuspage_incident(account, "resolved", "2026-11-22T11:00:00.000Z")).status_code == 202
    run_tasks(desk)
    # The fix did not hold: the status page says investigating again before anyone confirmed.
    assert hook.post(statuspage_incident(account, "investigating", "2026-11-22T11:20:00.000Z")).status_code == 202
    run_tasks(desk)

    state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(admin)).get_json()
    assert state["status_resolve"] is None
    refused = sidebar.post(f"/api/incidents/{incident.id}/confirm-resolve", headers=as_user(admin))
    assert refused.status_code == 409 and desk.incident(incident.id).state == State.DECLARED
    assert f"incident #{incident.id} no longer waits for its resolve to be confirmed" in said(channel)[-1]


def test_the_generic_form_promotes_a_suspected_incident(account, service, channel):
    desk, hook, client = service
    webhooks = WebhookSender(client, WEBHOOK_SECRET, SystemClock())
    cluster = [account.write_in(subject) for subject in ("API down", "The API is down!", "api DOWN",
                                                         "Is the API down?", "api is down")]
    for ticket_id in cluster:
        webhooks.ticket_event(ticket_id)
    drain_inbox(desk)
    [suspected] = desk.suspected_incidents()

    body = {"id": "ext-7", "name": "API outage", "status": "identified", "components": ["api"]}
    assert hook.post(body).status_code == 202
    run_tasks(desk)

    incident = desk.incident(suspected.id)
    assert (incident.state, incident.title, incident.query) == ("declared", "API outage", "API")
    assert changes(desk, incident.id) == [(None, "suspected", "detection"), ("suspected", "declared", "status page")]
    assert all("api_down" in account.ticket(t)["tags"] for t in cluster)
    assert f"declared the suspected incident #{incident.id} (5 tickets in its cluster, tag api_down)" in \
        said(channel)[-2]


@pytest.mark.parametrize("path", ["/webhooks/status", "/webhooks/status/not-the-token",
                                  "/webhooks/status/%C3%A9t%C3%A9"])
def test_a_delivery_without_the_token_is_refused_and_stores_nothing(account, service, path):
    desk, hook, _ = service
    refused = hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z"), path=path)
    assert refused.status_code == 401 and "token" in refused.get_json()["error"]
    run_tasks(desk)
    assert stored_events(desk) == 0 and desk.active_incidents() == []


@pytest.mark.parametrize("body, reason", [
    ({"incident": {"id": "inc1", "name": "API", "status": "investigating", "components": [{"name": "Billing"}]}},
     "no component of the incident is mapped"),
    ({"component_update": {"new_status": "major_outage"}, "component": {"name": "API"}}, "component updates"),
    ({"incident": {"id": "inc1", "name": "API", "status": "postmortem", "components": [{"name": "API"}]}},
     "'postmortem' is not acted on"),
])
def test_what_is_not_ours_to_act_on_is_acknowledged_and_ignored(account, service, body, reason):
    desk, hook, _ = service
    ignored = hook.post(body)
    assert ignored.status_code == 200 and ignored.get_json()["status"] == "ignored"
    assert reason in ignored.get_json()["reason"]
    assert stored_events(desk) == 0


@pytest.mark.parametrize("body, reason", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    ({"hello": "world"}, "neither a Statuspage incident webhook nor the generic form"),
    ({"incident": {"id": "inc1", "status": "investigating", "components": []}}, "'name' must be text"),
    ({"incident": {"id": "inc1", "name": "API", "status": "exploded"}}, "'status' must be one of"),
    ({"incident": {"id": "inc1", "name": "API", "status": "investigating", "components": "API"}},
     "'components' must be a list"),
    ({"incident": {"id": "inc1", "name": "API", "status": "resolved", "created_at": "yesterday",
                   "components": [{"name": "API"}]}}, "'created_at' must be an ISO 8601 time"),
    ({"id": "x", "name": "API", "status": "resolved", "components": "API"}, "'components' must be a list"),
    ({"id": "x", "name": "API", "status": "postmortem", "components": ["API"]}, "'status' must be one of"),
    # Python reads no integer over 4300 digits, and no store takes a lone surrogate.
    (b'{"id": 1' + b"0" * 5000 + b', "name": "API", "status": "investigating", "components": ["API"]}',
     "number too long"),
    (b'{"id": "x", "name": "API \\ud800", "status": "investigating", "components": ["API"]}', "lone surrogate"),
    # Year 1 would overflow the worker's look-back on every pass; year 9999 west of UTC is past datetime's end.
    ({"id": "x", "name": "API", "status": "investigating", "components": ["API"], "started_at": "0001-01-01T00:00:00Z"},
     "'started_at' must be a time after 2000"),
    ({"id": "x", "name": "API", "status": "investigating", "components": ["API"],
      "started_at": "9999-12-31T23:59:59-01:00"}, "'started_at' must be an ISO 8601 time"),
])
def test_a_malformed_delivery_is_refused_with_its_reason(account, service, body, reason):
    desk, hook, _ = service
    refused = hook.post(body)
    assert refused.status_code == 400 and reason in refused.get_json()["error"], refused.get_json()
    assert stored_events(desk) == 0


def test_a_delivery_the_store_fails_is_a_500_whose_log_does_not_carry_the_token(account, service, caplog):
    desk, hook, _ = service
    token = hook.path.rsplit("/", 1)[1]
    with desk.sessions.kw["bind"].begin() as connection:  # the store loses the table under the service
        connection.execute(text("DROP TABLE status_events"))
    caplog.set_level(logging.INFO)

    failed = hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z"))

    assert failed.status_code == 500 and token not in failed.get_data(as_text=True)
    assert caplog.records and token not in caplog.text


def test_a_body_over_the_limit_is_refused(account, service):
    _, hook, _ = service
    body = statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z")
    body["incident"]["incident_updates"][0]["body"] = "x" * (64 * 1024)
    assert hook.post(body).status_code == 413


@pytest.mark.parametrize("variable, value, problem", [
    ("OUTAGE_DESK_STATUS_COMPONENTS", "{API", "is not valid JSON"),
    ("OUTAGE_DESK_STATUS_COMPONENTS", '{"API": {"tag": "api down", "query": "API"}}', "no tag, or one with spaces"),
    ("OUTAGE_DESK_STATUS_COMPONENTS", '{"API": {"tag": "api_down"}}', "no search query"),
    ("OUTAGE_DESK_STATUS_COMPONENTS", '{"API": {"tag": "api_down", "query": "API", "severity": [1]}}',
     "a severity that is not 1 to 4"),
    ("OUTAGE_DESK_STATUS_COMPONENTS", '{"API": {"tag": "api_down", "query": "API", "severity": 1.0}}',
     "a severity that is not 1 to 4"),
    ("OUTAGE_DESK_STATUS_COMPONENTS", '{"API": {"tag": "api_down", "query": "API", "severity": 1' + "0" * 5000 + "}}",
     "is not valid JSON"),
    ("OUTAGE_DESK_STATUS_RESOLVE", "maybe", "must be auto or confirm"),
])
def test_a_wrong_status_page_setting_is_named_at_start(tmp_path, variable, value, problem):
    with pytest.raises(ConfigError, match=problem) as error:
        load_config({variable: value, "DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}, dotenv_path=None)
    assert variable in error.value.problems


def status(desk) -> str:
    """`outage-desk status` on the desk's store, as an operator reads it."""
    result = CliRunner().invoke(cli, ["status"], env={"DATABASE_URL": str(desk.sessions.kw["bind"].url),
                                                      "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_step_slack_missed_is_told_on_the_next_pass_and_only_once(account, tmp_path, channel):
    desk, hook, _ = start_service(account, tmp_path, channel)
    slack_down = build_desk(replace(desk.config, slack_webhook_url="http://127.0.0.1:9/services/T/B/down"))
    assert hook.post(statuspage_incident(account, "investigating", "2026-11-22T10:00:00.000Z")).status_code == 202

    run_tasks(slack_down)  # declared and taken in; Slack heard nothing
    [incident] = desk.active_incidents()
    assert said(channel) == []

    run_tasks(desk)
    run_tasks(desk)
    told = [m for m in said(channel) if "Status page: *Elevated API errors* is investigating" in m]
    assert len(told) == 1 and f"declared incident #{incident.id}" in told[0]
    for each in (desk, slack_down):
        each.sessions.kw["bind"].dispose()
