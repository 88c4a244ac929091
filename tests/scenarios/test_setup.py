"""`outage-desk setup` against the sandbox: planned, applied once, then a no-op; conflicts stop it cold."""

import json
import shutil
import sqlite3

import pytest
import requests

from app.errors import InputError
from app.intake.signature import ZendeskSignature
from app.store.secrets import SecretBox
from app.store.settings import WEBHOOK_SIGNING_SECRET, save_secret
from app.web import create_app
from app.zendesk.provisioning import DEFINITIONS_ROOT, Provisioner
from tests.conftest import SECRET_KEY, mode
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
    box = SecretBox(desk.config.outage_desk_secret_key)
    save_secret(desk.sessions, box, WEBHOOK_SIGNING_SECRET, learnt["webhook_secret"])  # as the CLI does
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


def admin_edits_macro(account, title, actions):
    """An admin saves the macro in Zendesk's macro editor."""
    macro_id = account.seed.macro_ids[title]
    requests.put(f"{account.url}/api/v2/macros/{macro_id}.json", auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=5,
                 json={"macro": {"actions": actions}}).raise_for_status()
    return macro_id


RICH_TEXT = "<p>Bonjour {{ticket.requester.first_name}},</p><p>L'API refonctionne.<br>Merci !</p>"


def test_setup_keeps_a_macro_an_admin_edited_in_the_rich_text_editor(account, tmp_path):
    macro_id = admin_edits_macro(account, "Outage Desk closing (fr)", [
        {"field": "comment_value_html", "value": RICH_TEXT}, {"field": "comment_mode_is_public", "value": True},
        {"field": "status", "value": "solved"}])
    outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    again = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "Nothing to change: the account is already set up for Outage Desk."
    with account.state.lock:
        kept = account.state.macros[macro_id]["actions"]
    assert kept[0] == {"field": "comment_value_html", "value": RICH_TEXT}


def test_setup_refuses_a_macro_an_admin_emptied_and_writes_nothing(account, tmp_path):
    macro_id = admin_edits_macro(account, "Outage Desk acknowledgement (de)", [
        {"field": "comment_value_html", "value": "<p><br></p>"}, {"field": "comment_mode_is_public", "value": "true"}])
    before = admin_objects(account)

    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert result.returncode == 2
    assert (f"macro 'Outage Desk acknowledgement (de)' #{macro_id}: action comment_value_html has no text"
            in " ".join(result.stderr.split()))
    assert admin_objects(account) == before


def test_setup_refuses_a_macro_that_would_strip_the_outage_tag(account, desk):
    admin_edits_macro(account, "Outage Desk closing (en)", [
        {"field": "comment_value", "value": "Fixed."}, {"field": "remove_tags", "value": "api_down"}])
    with pytest.raises(InputError, match=r"'Outage Desk closing \(en\)' #\d+: action remove_tags .* api_down"):
        Provisioner(desk.gateway, desk.config, SERVICE, tag="api_down").plan()


def test_setup_refuses_set_tags_in_any_macro_declare_or_resolve_would_send(account, desk):
    extra = account.state.add_macro("Outage Desk closing (it)", [
        {"field": "comment_value", "value": "Risolto."}, {"field": "set_tags", "value": "resolved"}])
    with pytest.raises(InputError, match=rf"'Outage Desk closing \(it\)' #{extra['id']}: action set_tags"):
        Provisioner(desk.gateway, desk.config, SERVICE).plan()


def test_an_inactive_macro_nobody_sends_does_not_stop_setup(account, desk):
    account.state.add_macro("Outage Desk closing (it)", [{"field": "set_tags", "value": "resolved"}], active=False)
    assert Provisioner(desk.gateway, desk.config, SERVICE).plan()


def test_the_macros_setup_creates_are_read_back_as_sendable(account, desk):
    with account.state.lock:
        account.state.macros.clear()
    provisioner = Provisioner(desk.gateway, desk.config, SERVICE)
    plan = provisioner.plan()
    created = [step.name for step in plan.changes if step.kind == "macro" and step.action == "create"]
    assert len(created) == len(list((DEFINITIONS_ROOT / "macros").glob("*.json")))

    provisioner.apply(plan)

    closing = desk.gateway.macros("Outage Desk closing", protected_tags={"api_down"})
    acknowledgement = desk.gateway.macros("Outage Desk acknowledgement", protected_tags={"api_down"})
    assert set(closing) == set(acknowledgement) == {"en", "fr", "es", "ru", "de", "pt-BR"}
    assert closing["fr"].status == "solved" and closing["fr"].comment.startswith("Bonjour")


def test_a_macro_definition_outage_desk_could_not_send_stops_setup_before_any_write(account, desk, tmp_path):
    root = tmp_path / "definitions"
    shutil.copytree(DEFINITIONS_ROOT / "triggers", root / "triggers")
    (root / "macros").mkdir()
    (root / "macros" / "closing-it.json").write_text(json.dumps({"macro": {
        "title": "Outage Desk closing (it)", "active": True,
        "actions": [{"field": "comment_value_html", "value": "<p>&nbsp;</p>"}]}}))
    before = admin_objects(account)

    with pytest.raises(InputError, match=r"macro 'Outage Desk closing \(it\)': action comment_value_html has no text"):
        Provisioner(desk.gateway, desk.config, SERVICE, root=root).plan()
    assert admin_objects(account) == before


def test_setup_stores_the_webhook_secret_encrypted_in_a_private_file(account, tmp_path, shell_umask):
    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert result.returncode == 0, result.stderr
    with account.state.lock:
        secret = next(iter(account.state.webhooks.values()))["signing_secret"]["secret"]
    store = tmp_path / "cli.db"
    with sqlite3.connect(store) as raw:  # the table as anyone who can read the file sees it
        [(value,)] = raw.execute("SELECT value FROM settings WHERE key = 'webhook_signing_secret'").fetchall()
    assert secret not in value and SecretBox(SECRET_KEY).decrypt(value) == secret
    assert secret.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("cli.db*"))
    assert mode(store) == 0o600


def test_setup_without_the_key_stops_before_anything_is_written(account, tmp_path):
    before = admin_objects(account)

    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE,
                         env_overrides={"OUTAGE_DESK_SECRET_KEY": ""})

    assert result.returncode == 78
    assert result.stderr.startswith("outage-desk: OUTAGE_DESK_SECRET_KEY is not set")
    assert "outage-desk keygen" in result.stderr and len(result.stderr.splitlines()) == 1
    assert admin_objects(account) == before


@pytest.mark.parametrize(("key", "said"), [
    ("", "OUTAGE_DESK_SECRET_KEY is not set"),
    (SecretBox.new_key(), "OUTAGE_DESK_SECRET_KEY does not match the key the stored secret"),
    ("not-a-fernet-key", "OUTAGE_DESK_SECRET_KEY is not a Fernet key"),
], ids=["missing", "another key", "malformed"])
def test_serve_without_the_key_setup_used_is_one_line_and_exit_78(account, tmp_path, key, said):
    assert outage_desk(account, tmp_path, "setup", "--service-url", SERVICE).returncode == 0

    result = outage_desk(account, tmp_path, "serve", "--bind", "127.0.0.1:0",
                         env_overrides={"OUTAGE_DESK_SECRET_KEY": key})

    assert result.returncode == 78, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"outage-desk: {said}")
    assert "Traceback" not in result.stderr
