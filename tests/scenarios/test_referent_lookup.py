"""The product referent is looked up in Zendesk once; a failed look-up is remembered a minute, so sidebar
requests (each asks whether its caller is the referent) do not each send Zendesk a search."""

from dataclasses import replace
from datetime import datetime, timezone

from app.jobs.inbox import drain_inbox
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import FrozenClock, WebhookSender
from tests.scenarios.conftest import desk_config
from tests.scenarios.test_suspected_incidents import SUBJECTS, customers_write

SEARCH = "GET /api/v2/users/search"


def searches(account) -> int:
    return account.state.stats()["by_endpoint"].get(SEARCH, 0)


def test_a_referent_zendesk_does_not_know_is_searched_once_a_minute_not_once_a_request(account, tmp_path):
    clock = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    config = replace(desk_config(account, tmp_path), outage_desk_referent="nobody@example.org")
    worker = build_desk(config, clock)  # migrates the store first, as `serve` does before it creates the app
    web = create_app(config, clock)
    sidebar = web.test_client()
    try:
        tickets = customers_write(account, WebhookSender(sidebar, WEBHOOK_SECRET, clock), SUBJECTS)
        drain_inbox(worker)  # a suspicion to show: the sidebar then asks who may confirm it
        as_user = account.sidebar_sessions(sidebar)
        agent, admin = account.seed.agent_ids[0], account.seed.api_user_id
        before = searches(account)

        for user in (agent, agent, admin, agent, agent):
            state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(user)).get_json()
            assert state["suspected"]["can_confirm"] is (user == admin)
        assert searches(account) == before + 1

        clock.advance(59)
        sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(agent))
        assert searches(account) == before + 1
        clock.advance(2)  # a minute on: Zendesk is asked again (the admin may have fixed the setting)
        sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(agent))
        sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(agent))
        assert searches(account) == before + 2
    finally:
        worker.sessions.kw["bind"].dispose()
        web.extensions["outage_desk.sessions"].kw["bind"].dispose()


def test_a_referent_found_is_not_searched_again(account, tmp_path):
    referent = account.state.users[account.seed.referent_id]
    clock = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    config = replace(desk_config(account, tmp_path), outage_desk_referent=referent["email"])
    worker = build_desk(config, clock)  # migrates the store first, as `serve` does before it creates the app
    web = create_app(config, clock)
    sidebar = web.test_client()
    try:
        tickets = customers_write(account, WebhookSender(sidebar, WEBHOOK_SECRET, clock), SUBJECTS)
        drain_inbox(worker)
        as_user = account.sidebar_sessions(sidebar)
        before = searches(account)
        for _ in range(3):
            clock.advance(61)
            state = sidebar.get(f"/api/state?ticket_id={tickets[0]}", headers=as_user(referent["id"])).get_json()
            assert state["suspected"]["can_confirm"] is True
        assert searches(account) == before + 1
    finally:
        worker.sessions.kw["bind"].dispose()
        web.extensions["outage_desk.sessions"].kw["bind"].dispose()
