"""First-response SLA by plan: Zendesk measures and escalates, the referents hear of it, an outage breaks no SLA,
and a customer who leaves a ticket pending for two days finds it solved."""

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
from werkzeug.serving import make_server

from app.intake.signature import ZendeskSignature
from app.jobs.inbox import drain_inbox
from app.web import create_app
from app.wiring import build_desk
from app.zendesk.provisioning import Provisioner
from app.zendesk.sla_provisioning import BREACHED_TAG
from tests.helpers import FrozenClock
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, desk_config, outage
from tests.scenarios.test_cli import outage_desk

PLAN_OPTIONS = [["Basic", "plan_basic"], ["Regular", "plan_regular"], ["Premium", "plan_premium"]]
POLICIES = ("Outage Desk: Premium plan first reply", "Outage Desk: Regular plan first reply",
            "Outage Desk: Basic plan first reply")


class LateApp:
    """Our service on a real port, its Flask app given once setup has told it the webhook's secret."""

    def __init__(self):
        self.app = None
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def service():
    late = LateApp()
    yield late
    late.close()


def set_up(account, tmp_path, service, channel, clock=None, **overrides):
    """An admin runs setup with the service's URL; the service then runs with the webhook's secret."""
    config = desk_config(account, tmp_path).with_overrides(slack_webhook_url=channel.url, **overrides)
    desk = build_desk(config, clock)
    provisioner = Provisioner(desk.gateway, config, service.url)
    learnt = provisioner.apply(provisioner.plan())
    service.app = create_app(config.with_overrides(zendesk_webhook_secret=learnt["webhook_secret"]))
    return desk


def plan_field(account):
    requests.post(f"{account.url}/_sandbox/organization_fields",
                  json={"key": "plan", "title": "Plan", "options": PLAN_OPTIONS}, timeout=10).raise_for_status()


def customer_of(account, plan_tag: str, email: str, by_field: bool = True) -> None:
    """A customer whose organisation is on a plan: chosen in its plan field, whose option's tag is `plan_tag`,
    or tagged `plan_tag` by hand."""
    plan = {"organization_fields": {"plan": plan_tag}} if by_field else {"tags": [plan_tag]}
    requests.post(f"{account.url}/_sandbox/organizations", timeout=10, json={
        "name": email.split("@")[1], "members": [{"email": email}], **plan}).raise_for_status()


def ago(minutes: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def automation_run(account, hours_from_now: float = 0) -> list[dict]:
    """Zendesk's hourly automation run, now or as it will be; then every webhook it called has been delivered."""
    at = ago(-60 * hours_from_now)
    fired = requests.post(f"{account.url}/_sandbox/automations/run", json={"at": at}, timeout=30).json()["fired"]
    assert account.server.app.extensions["sandbox"].webhooks.wait_idle()
    return fired


def deliveries_of(account, event: str) -> list[dict]:
    with account.state.lock:
        return [d for d in account.state.deliveries if json.loads(d["body"])["event"] == event]


def admin_objects(account):
    with account.state.lock:
        return json.dumps([account.state.sla_policies, account.state.automations], sort_keys=True)


def test_setup_makes_the_plans_policies_and_automations_once_and_dry_run_shows_them(account, tmp_path):
    plan_field(account)
    env = {"OUTAGE_DESK_PLAN_FIELD": "plan"}
    dry = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com", "--dry-run",
                      env_overrides=env)
    assert dry.returncode == 0, dry.stderr
    for title in POLICIES:
        assert f"would create     SLA policy '{title}'" in dry.stdout
    assert "would create     automation 'Outage Desk: SLA breached, normal to high'" in dry.stdout
    assert "would create     automation 'Outage Desk: solve after 48 h waiting on the customer'" in dry.stdout
    assert account.state.sla_policies == {} and account.state.automations == {}

    first = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com", env_overrides=env)
    assert first.returncode == 0, first.stderr
    with account.state.lock:
        policies = sorted(account.state.sla_policies.values(), key=lambda p: p["position"])
    assert [p["title"] for p in policies] == list(POLICIES)  # matched in this order: Basic catches the rest
    premium = policies[0]
    assert premium["filter"]["all"] == [
        {"field": "current_tags", "operator": "includes", "value": "plan_premium"},
        {"field": "current_tags", "operator": "not_includes", "value": "outage_desk_live"}]
    assert {(m["priority"], m["target"]) for m in premium["policy_metrics"]} == {
        ("low", 30), ("normal", 30), ("high", 30), ("urgent", 30)}
    assert {m["target"] for m in policies[2]["policy_metrics"]} == {24 * 60}
    after_first = admin_objects(account)

    second = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com", env_overrides=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Nothing to change: the account is already set up for Outage Desk."
    assert admin_objects(account) == after_first


def test_a_plan_field_that_does_not_exist_is_one_line_and_nothing_is_made(account, tmp_path):
    result = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com",
                         env_overrides={"OUTAGE_DESK_PLAN_FIELD": "tier"})
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no organization field 'tier'" in result.stderr
    with account.state.lock:
        assert account.state.webhooks == {} and account.state.sla_policies == {} and account.state.triggers == {}


def test_a_premium_ticket_unanswered_31_minutes_is_escalated_once_and_the_referents_hear_of_it(
        account, tmp_path, service, channel):
    plan_field(account)
    desk = set_up(account, tmp_path, service, channel, outage_desk_plan_field="plan")
    customer_of(account, "plan_premium", "ops@bigco.example")
    customer_of(account, "plan_basic", "it@smallco.example")
    premium = account.write_in("Invoices export fails", email="ops@bigco.example", priority="normal",
                               created_at=ago(31))
    basic = account.write_in("Invoices export fails too", email="it@smallco.example", priority="normal",
                             created_at=ago(31))

    fired = automation_run(account)

    assert [f["ticket_id"] for f in fired] == [premium]  # Basic has 24 hours
    assert account.ticket(premium)["priority"] == "high"
    assert BREACHED_TAG in account.ticket(premium)["tags"]
    assert account.ticket(basic)["priority"] == "normal"
    called = deliveries_of(account, "ticket.sla_breached")
    assert [(d["url"], d["status"]) for d in called] == [(f"{service.url}/webhooks/zendesk", "delivered")]
    drain_inbox(desk)
    assert len(channel.messages) == 1
    assert f"#{premium}" in channel.messages[0] and "Premium plan" in channel.messages[0]
    assert channel.messages[0].startswith("<!here>")

    # The next hourly run: the breach tag keeps the automation from firing again, and nobody is told twice.
    assert automation_run(account) == []
    drain_inbox(desk)
    assert account.ticket(premium)["priority"] == "high" and len(channel.messages) == 1


def test_an_urgent_ticket_is_never_lowered_and_a_replied_one_is_never_escalated(account, tmp_path, service, channel):
    desk = set_up(account, tmp_path, service, channel)  # plan tags, not a field
    customer_of(account, "plan_premium", "ops@bigco.example", by_field=False)
    urgent = account.write_in("Everything is down", email="ops@bigco.example", priority="urgent", created_at=ago(45))
    answered = account.write_in("A question", email="ops@bigco.example", priority="normal", created_at=ago(45))
    account.agent_update(answered, comment={"body": "Looking into it.", "public": True})
    # That reply came 45 minutes after the ticket: a breach too, measured when it was written.
    urgent_fired = automation_run(account)
    assert {f["ticket_id"] for f in urgent_fired} == {urgent, answered}
    assert account.ticket(urgent)["priority"] == "urgent"
    assert BREACHED_TAG in account.ticket(urgent)["tags"]

    on_time = account.write_in("Another question", email="ops@bigco.example", priority="low", created_at=ago(5))
    account.agent_update(on_time, comment={"body": "Here is the answer.", "public": True})
    assert automation_run(account) == []
    assert account.ticket(on_time)["priority"] == "low"
    drain_inbox(desk)
    assert len(channel.messages) == 2


def test_during_an_outage_no_breach_and_after_resolve_the_plans_count_again(account, tmp_path, service, channel):
    clock = FrozenClock(datetime.now(timezone.utc))
    desk = set_up(account, tmp_path, service, channel, clock, outage_desk_ack_macro="off")
    customer_of(account, "plan_premium", "ops@bigco.example", by_field=False)
    held = account.write_in("API returns 500 on every call", email="ops@bigco.example", priority="normal",
                            created_at=ago(20))
    assert account.server.app.extensions["sandbox"].webhooks.wait_idle()
    report = desk.declare(outage(account))
    drain_inbox(desk)  # search has not indexed it yet: our new-ticket trigger told the service
    assert "outage_desk_live" in account.ticket(held)["tags"]

    priority = account.ticket(held)["priority"]  # as the take-in set it

    # Its 30 minutes run out while the outage holds it.
    assert [f for f in automation_run(account, hours_from_now=0.5) if f["ticket_id"] == held] == []
    drain_inbox(desk)
    assert account.ticket(held)["priority"] == priority
    assert BREACHED_TAG not in account.ticket(held)["tags"]
    assert not [m for m in channel.messages if f"#{held}" in m]

    clock.advance(40 * 60)
    desk.resolve(desk.incident(report.incident_id))
    assert "outage_desk_live" not in account.ticket(held)["tags"]
    summary = desk.report(desk.incident(report.incident_id)).summary()
    # Its deadline fell while the outage held it, and nobody had answered by then: the outage spared one breach.
    assert summary["sla_breaches_avoided"] == 1

    # The policies never went away: the same customer's next ticket breaches and is escalated.
    later = account.write_in("Webhooks arrive late", email="ops@bigco.example", priority="low", created_at=ago(31))
    assert [f["ticket_id"] for f in automation_run(account) if f["ticket_id"] in (held, later)] == [later]
    assert account.ticket(later)["priority"] == "normal"
    drain_inbox(desk)
    assert [m for m in channel.messages if f"#{later}" in m]


def test_a_ticket_pending_for_49_hours_is_solved(account, tmp_path, service, channel):
    set_up(account, tmp_path, service, channel)
    waiting = account.write_in("Can you check my settings?", email="slow@example.org")
    account.agent_update(waiting, status="pending", assignee_id=account.seed.referent_id,
                         comment={"body": "Could you send us a screenshot?", "public": True})

    automation_run(account, hours_from_now=47)
    assert account.ticket(waiting)["status"] == "pending"

    automation_run(account, hours_from_now=49)
    assert account.ticket(waiting)["status"] == "solved"


def test_zendesk_calling_twice_about_one_breach_tells_the_referents_once(account, tmp_path, service, channel):
    desk = set_up(account, tmp_path, service, channel)
    customer_of(account, "plan_premium", "ops@bigco.example", by_field=False)
    ticket = account.write_in("Invoices export fails", email="ops@bigco.example", priority="high", created_at=ago(31))
    automation_run(account)
    [delivery] = deliveries_of(account, "ticket.sla_breached")
    # Zendesk retries a delivery it thinks failed, and an admin may re-run an automation by hand: a later stamp.
    with account.state.lock:
        secret = account.state.webhooks[delivery["webhook_id"]]["signing_secret"]["secret"]
    body = json.dumps({"ticket_id": str(ticket), "event": "ticket.sla_breached",
                       "updated_at": "2099-01-01T00:00:00Z"}).encode()
    again = requests.post(f"{service.url}/webhooks/zendesk", data=body, timeout=10,
                          headers={"Content-Type": "application/json", **ZendeskSignature(secret).headers(body)})
    assert again.status_code == 202

    drain_inbox(desk)

    assert account.ticket(ticket)["priority"] == "urgent"
    assert len([m for m in channel.messages if f"#{ticket}" in m]) == 1


def test_plan_tags_that_do_not_name_every_plan_stop_setup_in_one_line(account, tmp_path):
    result = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com",
                         env_overrides={"OUTAGE_DESK_PLAN_TAGS": "premium=vip"})
    assert result.returncode != 0
    assert "OUTAGE_DESK_PLAN_TAGS" in result.stderr and "basic=<tag>" in result.stderr
    assert account.state.sla_policies == {}


def test_a_policy_an_admin_moved_or_deleted_is_put_back_in_match_order(account, tmp_path):
    assert outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com").returncode == 0
    with account.state.lock:
        ids = {p["title"]: p["id"] for p in account.state.sla_policies.values()}
        del account.state.sla_policies[ids[POLICIES[0]]]  # an admin deleted Premium: it comes back last
    again = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com")
    assert again.returncode == 0, again.stderr
    assert f"create     SLA policy '{POLICIES[0]}'" in again.stdout and "reorder    SLA policies" in again.stdout
    with account.state.lock:
        listed = [p["title"] for p in sorted(account.state.sla_policies.values(), key=lambda p: p["position"])]
    assert listed == list(POLICIES)
    third = outage_desk(account, tmp_path, "setup", "--service-url", "https://desk.example.com")
    assert third.stdout.strip() == "Nothing to change: the account is already set up for Outage Desk."


def test_slack_down_leaves_the_breach_to_tell_and_the_next_drain_tells_it_once(account, tmp_path, service, channel):
    set_up(account, tmp_path, service, channel)
    customer_of(account, "plan_premium", "ops@bigco.example", by_field=False)
    ticket = account.write_in("Invoices export fails", email="ops@bigco.example", priority="low", created_at=ago(31))
    automation_run(account)

    unreachable = build_desk(desk_config(account, tmp_path).with_overrides(slack_webhook_url="http://127.0.0.1:9/hook"))
    drain_inbox(unreachable)
    assert channel.messages == []

    desk = build_desk(desk_config(account, tmp_path).with_overrides(slack_webhook_url=channel.url))
    drain_inbox(desk)
    drain_inbox(desk)
    assert len([m for m in channel.messages if f"#{ticket}" in m]) == 1
    assert account.ticket(ticket)["priority"] == "normal"
