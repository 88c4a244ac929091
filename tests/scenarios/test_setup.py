"""`outage-desk setup` against the sandbox: planned, applied once, then a no-op; conflicts stop it cold."""

import json

import pytest
import requests

from app.errors import InputError
from app.intake.signature import ZendeskSignature
from app.store.settings import save_setting
from app.web import create_app
from app.zendesk.provisioning import Provisioner
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, desk_config
from tests.scenarios.test_cli import outage_desk

SERVICE = "https://outage-desk.example.com"


def admin_objects(account):
    with account.state.lock:
        return {"webhooks": len(account.state.webhooks), "triggers": len(account.state.triggers),
                "macros": len(account.state.macros), "fields": json.dumps(account.state.ticket_fields, sort_keys=True)}


def test_setup_twice_the_second_run_changes_nothing(account, tmp_path):
    first = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)
    assert first.returncode == 0, first.stderr
    assert "create     webhook 'Outage Desk'" in first.stdout
    assert "create     trigger 'Outage Desk: new ticket'" in first.stdout
    after_first = admin_objects(account)

    second = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Nothing to change: the account is already set up for Outage Desk."
    assert admin_objects(account) == after_first


def test_the_triggers_call_our_webhook_and_guard_against_loops(account, tmp_path):
    outage_desk(account, tmp_path, "setup", "--service-url", SERVICE, "--tag", "api_down")
    with account.state.lock:
        webhook = next(iter(account.state.webhooks.values()))
        triggers = {t["title"]: t for t in account.state.triggers.values()}
    assert webhook["endpoint"] == f"{SERVICE}/webhooks/zendesk"
    created = triggers["Outage Desk: new ticket"]["actions"][0]["value"]
    assert created[0] == webhook["id"]
    assert json.loads(created[1]) == {"ticket_id": "{{ticket.id}}", "event": "ticket.created",
                                      "updated_at": "{{ticket.updated_at_with_timestamp}}"}
    updated = triggers["Outage Desk: ticket updated"]
    assert {"field": "current_tags", "operator": "not_includes", "value": "api_down"} in updated["conditions"]["all"]
    assert updated["active"] is False  # switched on by declare, off at resolve: no webhook flood all year
    # Only tickets of a running outage are reopened: their closing write removes outage_desk_live.
    reopen = triggers["Outage Desk: keep outage tickets open"]["conditions"]["all"]
    assert {"field": "current_tags", "operator": "includes", "value": "outage_desk_live"} in reopen


def test_dry_run_prints_the_plan_and_writes_nothing(account, tmp_path):
    before = admin_objects(account)
    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would create     webhook 'Outage Desk'" in result.stdout
    assert admin_objects(account) == before


def test_serve_verifies_deliveries_with_the_secret_setup_stored(account, tmp_path, desk):
    provisioner = Provisioner(desk.gateway, desk.config, SERVICE)
    learnt = provisioner.apply(provisioner.plan())
    save_setting(desk.sessions, "webhook_signing_secret", learnt["webhook_secret"])  # as the CLI does
    secret = requests.get(f"{account.url}/api/v2/webhooks/{learnt['webhook_id']}/signing_secret",
                          auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=5).json()["signing_secret"]["secret"]
    assert learnt["webhook_secret"] == secret

    config = desk_config(account, tmp_path).with_overrides(zendesk_webhook_secret="")
    client = create_app(config).test_client()
    body = b'{"ticket_id": "10001", "event": "ticket.created"}'
    response = client.post("/webhooks/zendesk", data=body, headers=ZendeskSignature(secret).headers(body))
    assert response.status_code == 202


def test_an_agents_token_is_refused_before_anything_is_written(account, tmp_path, desk):
    agent = account.seed.agent_ids[0]
    with account.state.lock:
        agent_email = account.state.users[agent]["email"]
    before = admin_objects(account)
    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE, env_overrides={"ZENDESK_EMAIL": agent_email})
    assert result.returncode == 77
    assert "setup needs an admin's API token" in result.stderr
    assert admin_objects(account) == before


def test_a_conflicting_webhook_stops_setup_with_a_reason_and_nothing_half_made(account, desk):
    requests.post(f"{account.url}/api/v2/webhooks", auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=5, json={
        "webhook": {"name": "Outage Desk", "status": "active", "endpoint": "https://elsewhere.example.com/hook",
                    "http_method": "POST", "request_format": "json", "subscriptions": ["zen:event-type:ticket.created"]}},
    ).raise_for_status()
    before = admin_objects(account)
    with pytest.raises(InputError, match="connected to events"):
        Provisioner(desk.gateway, desk.config, SERVICE).plan()
    assert admin_objects(account) == before
