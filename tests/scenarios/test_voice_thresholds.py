"""Voice thresholds: while an outage is declared, more than 5 callers waiting tells Slack to shut down routing
(once per crossing), and more than 100 switches every phone line to the outage greeting until the resolution
puts back exactly what each line played, whatever dies in between."""

import logging
from dataclasses import replace

import pytest
import requests
from sqlalchemy import update

from app.jobs.scheduler import build_scheduler
from app.jobs.voice import watch_voice
from app.store.tables import VoiceLineRow
from app.wiring import build_desk
from app.zendesk.provisioning import Provisioner
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, desk_config, outage
from tests.scenarios.test_cli import outage_desk

SERVICE = "https://outage-desk.example.com"
LANGUAGES = ("de", "en", "es", "fr", "pt-BR", "ru")
FRANCE, US, GERMANY = 900001, 900002, 900003  # the sandbox's seeded lines


def talk_api(account, path: str) -> dict:
    response = requests.get(f"{account.url}/api/v2/channels/voice/{path}", auth=(f"{API_EMAIL}/token", API_TOKEN),
                            timeout=10)
    response.raise_for_status()
    return response.json()


def lines(account) -> dict[int, list[int]]:
    """Each phone line's greeting ids, as Zendesk shows them."""
    return {line["id"]: line["greeting_ids"] for line in talk_api(account, "phone_numbers.json")["phone_numbers"]}


def greetings_by_name(account) -> dict[str, dict]:
    return {greeting["name"]: greeting for greeting in talk_api(account, "greetings.json")["greetings"]}


def callers_waiting(account, calls: int) -> None:
    requests.post(f"{account.url}/_sandbox/talk/queue", json={"calls_waiting": calls}, timeout=10).raise_for_status()


def line_updates(account) -> list[str]:
    """The phone-number updates Zendesk received (their paths), oldest first."""
    calls = requests.get(f"{account.url}/_sandbox/calls", timeout=10).json()["calls"]
    return [call["path"] for call in calls if call["endpoint"] == "PUT /api/v2/channels/voice/phone_numbers/{line_id}"]


def refuse(account, line_id: int, count: int) -> None:
    """The line's next `count` updates fail with a 500 (0: they work again)."""
    requests.post(f"{account.url}/_sandbox/talk/phone_numbers/{line_id}/refuse_updates", json={"count": count},
                  timeout=10).raise_for_status()


def routing_alerts(channel) -> list[str]:
    return [message for message in channel.messages if "shut down routing" in message]


@pytest.fixture
def config(account, tmp_path, channel):
    return replace(desk_config(account, tmp_path), slack_webhook_url=channel.url)


@pytest.fixture
def desk(config):
    desk = build_desk(config)
    yield desk
    desk.sessions.kw["bind"].dispose()


@pytest.fixture
def declared(account, desk):
    """The account set up (outage greetings included), then an outage declared."""
    provisioner = Provisioner(desk.gateway, desk.config, SERVICE)
    provisioner.apply(provisioner.plan())
    return desk.declare(outage(account)).incident_id


def test_setup_creates_the_outage_greeting_in_each_language_and_a_second_run_changes_nothing(account, tmp_path):
    first = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)
    assert first.returncode == 0, first.stderr
    for language in LANGUAGES:
        assert f"create     greeting 'Outage Desk outage ({language})'" in first.stdout
    made = greetings_by_name(account)
    # "available": the greeting every caller hears first (the wait greeting keeps playing in the queue).
    assert all(made[f"Outage Desk outage ({language})"]["category_id"] == 2 for language in LANGUAGES)

    second = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Nothing to change: the account is already set up for Outage Desk."
    assert greetings_by_name(account) == made


def test_setup_without_talk_sets_up_the_rest_and_says_why_there_is_no_greeting(account, tmp_path):
    requests.post(f"{account.url}/_sandbox/talk/enabled", json={"enabled": False}, timeout=10).raise_for_status()

    result = outage_desk(account, tmp_path, "setup", "--service-url", SERVICE)

    assert result.returncode == 0, result.stderr
    assert "Note: outage greetings not created: Zendesk Talk is not enabled on this account" in result.stdout
    assert "create     webhook 'Outage Desk'" in result.stdout and "create     greeting" not in result.stdout


def test_more_than_five_callers_waiting_alert_slack_once_per_crossing(account, declared, desk, config, channel):
    callers_waiting(account, 7)
    assert watch_voice(desk).alerted
    [alert] = routing_alerts(channel)
    assert alert.startswith("<!here> :rotating_light: 7 callers waiting") and "*API down*" in alert

    for _ in range(3):  # still 7 at the next polls
        watch_voice(desk)
    restarted = build_desk(config)  # a new worker process on the same store
    watch_voice(restarted)
    restarted.sessions.kw["bind"].dispose()
    callers_waiting(account, 4)  # back below 5, but not by the margin: still the same crossing
    watch_voice(desk)
    callers_waiting(account, 8)
    watch_voice(desk)
    assert len(routing_alerts(channel)) == 1

    callers_waiting(account, 3)  # back to 5 - 2: re-armed
    watch_voice(desk)
    callers_waiting(account, 7)
    watch_voice(desk)

    assert len(routing_alerts(channel)) == 2


def test_past_a_hundred_every_line_plays_the_outage_greeting_until_the_resolution_restores_it(
        account, declared, desk, config, channel, tmp_path):
    before = lines(account)
    greetings = greetings_by_name(account)
    callers_waiting(account, 120)

    report = watch_voice(desk)

    assert sorted(report.switched) == [FRANCE, US, GERMANY]
    now = lines(account)
    # Each line's welcome greeting is its country's outage greeting; its wait music stays.
    for line_id, language in ((FRANCE, "fr"), (US, "en"), (GERMANY, "de")):
        assert now[line_id] == [greetings[f"Outage Desk outage ({language})"]["id"], before[line_id][1]]
    assert any("the 3 phone lines now play the outage greeting" in m for m in channel.messages)
    assert len(routing_alerts(channel)) == 1  # 120 is a crossing of 5 too

    callers_waiting(account, 10)  # the queue eases: the greeting stays until the outage is over
    watch_voice(desk)
    assert lines(account) == now
    status = outage_desk(account, tmp_path, "status", env_overrides={"DATABASE_URL": config.database_url})
    assert status.returncode == 0, status.stderr
    assert ("10 callers waiting" in status.stdout and "1 \"shut down routing\" alert;" in status.stdout
            and "phone lines: 3 on the outage greeting" in status.stdout), status.stdout

    desk.mark_resolving(declared, by_user=account.seed.api_user_id)  # Resolve, in the sidebar
    restored = watch_voice(desk)

    assert sorted(restored.restored) == [FRANCE, US, GERMANY]
    assert lines(account) == before
    assert any("every phone line plays its own greetings again" in m for m in channel.messages)
    updates = len(line_updates(account))
    watch_voice(desk)
    assert len(line_updates(account)) == updates == 6  # three switched, three restored, nothing more


def test_a_crash_between_the_ledger_and_the_writes_still_restores_exactly_and_switches_nothing_twice(
        account, declared, desk, config):
    before = lines(account)
    # Germany's update fails (Zendesk answers 500 again and again): its greetings are saved, not yet switched.
    refuse(account, GERMANY, 10)
    callers_waiting(account, 120)
    report = watch_voice(desk)
    assert sorted(report.switched) == [FRANCE, US] and list(report.failed) == [GERMANY]
    assert lines(account)[GERMANY] == before[GERMANY]
    # France's update landed but the process died before its ledger row said so.
    with desk.sessions() as session:
        session.execute(update(VoiceLineRow).where(VoiceLineRow.phone_number_id == FRANCE).values(state="saved"))
        session.commit()
    switched = lines(account)
    refuse(account, GERMANY, 0)
    updates = len(line_updates(account))

    restarted = build_desk(config)
    again = watch_voice(restarted)

    assert sorted(again.switched) == [FRANCE, GERMANY] and not again.failed
    assert line_updates(account)[updates:] == [f"/api/v2/channels/voice/phone_numbers/{GERMANY}"]
    assert lines(account)[FRANCE] == switched[FRANCE] != before[FRANCE]

    # The resolution's write to Germany fails too, and the worker restarts once more before it lands.
    refuse(account, GERMANY, 10)
    restarted.mark_resolving(declared, by_user=account.seed.api_user_id)
    half = watch_voice(restarted)
    assert sorted(half.restored) == [FRANCE, US] and list(half.failed) == [GERMANY]
    restarted.sessions.kw["bind"].dispose()
    refuse(account, GERMANY, 0)
    updates = len(line_updates(account))

    last = build_desk(config)
    watch_voice(last)

    assert lines(account) == before
    assert line_updates(account)[updates:] == [f"/api/v2/channels/voice/phone_numbers/{GERMANY}"]
    last.sessions.kw["bind"].dispose()


def test_without_talk_one_clear_note_and_the_worker_carries_on(account, declared, desk, channel, caplog):
    requests.post(f"{account.url}/_sandbox/talk/enabled", json={"enabled": False}, timeout=10).raise_for_status()
    caplog.set_level(logging.WARNING, logger="app.incident.voice")

    reports = [watch_voice(desk) for _ in range(3)]

    assert all(r.unavailable and "Zendesk Talk is not enabled on this account" in r.unavailable for r in reports)
    notes = [m for m in channel.messages if "phone queue is not watched" in m]
    assert len(notes) == 1 and "Zendesk Talk is not enabled on this account" in notes[0]
    assert [r.message for r in caplog.records if r.name == "app.incident.voice"] == ["voice.talk-unavailable"]


def test_the_worker_polls_the_queue_every_voice_poll_seconds(config):
    desk = build_desk(replace(config, outage_desk_voice_poll_seconds=45))
    job = build_scheduler(desk, blocking=False).get_job("watch_voice")
    assert job.trigger.interval.total_seconds() == 45
    desk.sessions.kw["bind"].dispose()


def test_a_line_still_on_the_last_outages_greeting_is_not_saved_as_the_next_outages_own(account, declared, desk):
    before = lines(account)
    callers_waiting(account, 120)
    watch_voice(desk)  # every line on the outage greeting
    # The outage is resolved while a second one (another tag) is declared and the queue stays long;
    # Zendesk fails Germany's restore for a while.
    refuse(account, GERMANY, 10)
    desk.mark_resolving(declared, by_user=account.seed.api_user_id)
    second = desk.open_incident(outage(account, title="Billing down", query="billing", tag="billing_down"))
    first_pass = watch_voice(desk)
    assert list(first_pass.failed) == [GERMANY]
    refuse(account, GERMANY, 0)
    watch_voice(desk)  # Germany gets its own greeting back, then the second outage's
    desk.mark_resolving(second.id, by_user=account.seed.api_user_id)

    watch_voice(desk)

    assert lines(account) == before
