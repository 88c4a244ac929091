"""Agent settings for the outage: chats per agent goes 2 → 5 through Zendesk's Chat API while the outage is declared
and back to exactly what it was afterwards, whatever dies; Talk's wrap-up time (no API) is on the admins' checklist,
which Slack carries once per phase and the sidebar lets admins tick."""

import json
from dataclasses import replace

import pytest
import requests
from sqlalchemy import delete, select, update

from app.jobs.tasks import run_tasks
from app.store.tables import ChecklistItemRow, ChecklistPostRow, SettingChangeRow
from app.web import create_app
from app.wiring import build_desk
from tests.scenarios.conftest import desk_config, outage, start_account
from tests.scenarios.test_cli import outage_desk

CHAT_TOKEN = "chat-oauth-token"
# As the team has it before the outage: two chats each, which agents may not change themselves.
USUAL = {"enabled": True, "limit": 2, "limit_type": "agent", "allow_agent_override": False}


@pytest.fixture
def account():
    """A small account with Chat: its Chat OAuth client issued CHAT_TOKEN."""
    account = start_account(tickets=12, chat_oauth_token=CHAT_TOKEN)
    chat(account, "PATCH", {"chat_limit": USUAL}).raise_for_status()
    yield account
    account.server.shutdown()


def chat(account, method, body=None, token=CHAT_TOKEN):
    """The Chat API's routing settings, as an admin with the Chat token reads or changes them."""
    return requests.request(method, f"{account.url}/api/v2/chat/routing_settings/account", json=body,
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)


def chat_limit(account) -> dict:
    return chat(account, "GET").json()["data"]["chat_limit"]


def chat_writes(account) -> list[dict]:
    """The routing-settings writes Zendesk took from Outage Desk."""
    with account.state.lock:
        return [c for c in account.state.calls
                if c["endpoint"] == "PATCH /api/v2/chat/routing_settings/account" and c["status"] == 200]


@pytest.fixture
def config(account, tmp_path, channel):
    return replace(desk_config(account, tmp_path), slack_webhook_url=channel.url,
                   outage_desk_chat_oauth_token=CHAT_TOKEN)


@pytest.fixture
def desk(config):
    desk = build_desk(config)
    yield desk
    desk.sessions.kw["bind"].dispose()


def checklist_messages(channel, phase_words):
    return [m for m in channel.messages if m.startswith(":clipboard:") and phase_words in m]


def test_declared_chats_per_agent_go_to_five_with_the_previous_value_stored_and_come_back_exactly(
        account, desk, channel):
    writes_before = len(chat_writes(account))
    incident = desk.open_incident(outage(account))  # declared from the sidebar: the worker does the rest

    run_tasks(desk)

    assert chat_limit(account) == {**USUAL, "limit": 5}
    with desk.sessions() as session:
        [change] = session.scalars(select(SettingChangeRow))
    assert (change.state, json.loads(change.previous)) == ("applied", USUAL)
    [declared] = checklist_messages(channel, "Agent settings for the outage")
    assert "Chats per agent 2 → 5 through Zendesk's Chat API: done." in declared
    assert "Set Talk's wrap-up time to 30 s on every line" in declared

    run_tasks(desk)  # the next passes change nothing and say nothing more
    assert len(chat_writes(account)) == writes_before + 1 and len(checklist_messages(channel, "Agent settings")) == 1

    desk.mark_resolving(incident.id, by_user=account.seed.api_user_id)
    run_tasks(desk)
    run_tasks(desk)

    assert chat_limit(account) == USUAL
    assert len(chat_writes(account)) == writes_before + 2
    [over] = checklist_messages(channel, "is over")
    assert "Chats per agent 5 → 2 through Zendesk's Chat API: done." in over
    assert "Set Talk's wrap-up time back to 2 min on every line" in over
    assert len([m for m in channel.messages if m.startswith(":clipboard:")]) == 2


@pytest.mark.parametrize("died", ["after storing the previous value", "after Zendesk took the write"])
def test_a_worker_that_died_mid_change_is_finished_by_the_next_and_the_previous_value_comes_back(
        account, config, died):
    desk = build_desk(config)
    incident = desk.open_incident(outage(account))
    run_tasks(desk)
    # What the dead worker left: its ledger row still `applying`, the write landed or not.
    with desk.sessions() as session:
        session.execute(update(SettingChangeRow).values(state="applying", changed_at=None))
        session.commit()
    if died == "after storing the previous value":
        chat(account, "PATCH", {"chat_limit": USUAL}).raise_for_status()
    desk.sessions.kw["bind"].dispose()

    restarted = build_desk(config)  # a new worker process on the same store
    run_tasks(restarted)
    assert chat_limit(account)["limit"] == 5  # it never takes the outage's value for the previous one

    restarted.mark_resolving(incident.id, by_user=account.seed.api_user_id)
    with restarted.sessions() as session:  # and this one dies as the restore starts, before its write
        session.execute(update(SettingChangeRow).values(state="restoring"))
        session.commit()
    restarted.sessions.kw["bind"].dispose()
    again = build_desk(config)
    run_tasks(again)

    assert chat_limit(account) == USUAL
    with again.sessions() as session:
        assert [c.state for c in session.scalars(select(SettingChangeRow))] == ["restored"]
    again.sessions.kw["bind"].dispose()


def test_an_outage_resolved_while_the_worker_was_down_after_its_change_still_gets_the_previous_value_back(
        account, config):
    desk = build_desk(config)
    incident = desk.open_incident(outage(account))
    run_tasks(desk)
    assert chat_limit(account)["limit"] == 5
    # The worker died once Zendesk took the write, before the declaration's checklist was stored; the outage
    # was resolved in the sidebar before it came back.
    with desk.sessions() as session:
        session.execute(delete(ChecklistItemRow))
        session.execute(delete(ChecklistPostRow))
        session.commit()
    desk.mark_resolving(incident.id, by_user=account.seed.api_user_id)
    desk.sessions.kw["bind"].dispose()

    restarted = build_desk(config)
    run_tasks(restarted)

    assert chat_limit(account) == USUAL
    restarted.sessions.kw["bind"].dispose()


def test_a_second_outage_leaves_the_setting_to_the_first_which_hands_it_over_when_it_ends_first(account, desk):
    first = desk.open_incident(outage(account))
    run_tasks(desk)
    second = desk.open_incident(outage(account, title="Login down", query="login", tag="login_down"))
    run_tasks(desk)
    assert len(chat_writes(account)) == 2  # the fixture's and the first outage's: the second reads nothing as "before"

    desk.mark_resolving(first.id, by_user=account.seed.api_user_id)
    run_tasks(desk)
    assert chat_limit(account)["limit"] == 5  # still an outage

    desk.mark_resolving(second.id, by_user=account.seed.api_user_id)
    run_tasks(desk)
    assert chat_limit(account) == USUAL


@pytest.fixture
def sidebar(config, desk):
    return create_app(config).test_client()


def test_admins_tick_the_checklist_in_the_sidebar_and_agents_cannot(account, desk, sidebar):
    as_user = account.sidebar_sessions(sidebar)
    agent, admin = account.seed.agent_ids[0], account.seed.api_user_id
    ticket = account.write_in("The API answers 503")
    incident = desk.open_incident(outage(account))
    run_tasks(desk)

    seen_by_agent = sidebar.get(f"/api/state?ticket_id={ticket}", headers=as_user(agent)).get_json()
    seen_by_admin = sidebar.get(f"/api/state?ticket_id={ticket}", headers=as_user(admin)).get_json()
    assert seen_by_agent["agent_settings"] is None
    [item] = seen_by_admin["agent_settings"]["checklist"]
    assert (item["item"], item["phase"], item["value"], item["ticked_by"]) == ("wrap_up-declare", "declare", 30, None)
    assert seen_by_admin["agent_settings"]["changes"] == [
        {"setting": "chats_per_agent", "before": 2, "outage": 5, "state": "applied"}]

    refused = sidebar.post(f"/api/incidents/{incident.id}/checklist/wrap_up-declare", headers=as_user(agent))
    ticked = sidebar.post(f"/api/incidents/{incident.id}/checklist/wrap_up-declare", headers=as_user(admin))
    unknown = sidebar.post(f"/api/incidents/{incident.id}/checklist/coffee-declare", headers=as_user(admin))
    no_incident = sidebar.post("/api/incidents/999/checklist/wrap_up-declare", headers=as_user(admin))

    assert refused.status_code == 403 and unknown.status_code == 404 and no_incident.status_code == 404
    assert ticked.status_code == 200
    done = ticked.get_json()["item"]
    assert done["ticked_by"] == admin and done["ticked_at"]
    again = sidebar.post(f"/api/incidents/{incident.id}/checklist/wrap_up-declare", headers=as_user(admin))
    assert again.get_json()["item"] == done  # the first tick's who and when stand


def test_without_chat_api_access_chats_per_agent_joins_the_checklist_and_status_lists_what_is_not_ticked(
        account, config, channel, tmp_path):
    # A Chat token Zendesk does not know (revoked, or Support's own token): the Chat API answers 401.
    desk = build_desk(replace(config, outage_desk_chat_oauth_token="support-api-token",
                              database_url=f"sqlite:///{tmp_path}/cli.db"))
    incident = desk.open_incident(outage(account))
    run_tasks(desk)

    assert chat_limit(account) == USUAL and len(chat_writes(account)) == 1  # the fixture's only
    [declared] = checklist_messages(channel, "Agent settings")
    assert "Raise chats per agent to 5" in declared and "wrap-up time to 30 s" in declared
    assert "through Zendesk's Chat API" not in declared
    desk.agent_settings.tick(incident.id, "wrap_up-declare", by_user=account.seed.api_user_id)

    status = outage_desk(account, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "not ticked yet (declare): Raise chats per agent to 5" in status.stdout
    assert "wrap-up time to 30 s" not in status.stdout

    desk.mark_resolving(incident.id, by_user=account.seed.api_user_id)
    run_tasks(desk)
    [over] = checklist_messages(channel, "is over")
    assert "Set chats per agent back to 2" in over and "wrap-up time back to 2 min" in over
    status = outage_desk(account, tmp_path, "status")
    assert "not ticked yet (resolve): Set chats per agent back to 2" in status.stdout
    desk.sessions.kw["bind"].dispose()


def test_a_checklist_slack_did_not_take_goes_out_once_slack_is_back(account, config, channel):
    unreachable = build_desk(replace(config, slack_webhook_url="http://127.0.0.1:9/services/T000/B000/hook"))
    unreachable.open_incident(outage(account))
    run_tasks(unreachable)
    assert chat_limit(account)["limit"] == 5 and channel.messages == []
    unreachable.sessions.kw["bind"].dispose()

    worker = build_desk(config)
    run_tasks(worker)
    run_tasks(worker)

    assert len(checklist_messages(channel, "Agent settings for the outage")) == 1
    worker.sessions.kw["bind"].dispose()
