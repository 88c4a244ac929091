"""The runbook's alerts: five contacts about the same subject call the referents on Slack, and the
channel hears when the outage is declared and when it is over."""

from dataclasses import replace

import pytest

from app.clock import SystemClock
from app.jobs.inbox import drain_inbox
from app.web import create_app
from app.wiring import build_desk
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender
from tests.scenarios.conftest import desk_config, outage

REFERENTS = "<@UPRODUCTION> <@UPRODUCT>"


@pytest.fixture
def alerting(account, tmp_path, channel):
    """The desk and the service as an admin runs them, with Slack configured."""
    config = replace(desk_config(account, tmp_path), slack_webhook_url=channel.url,
                     outage_desk_slack_mentions=REFERENTS)
    desk = build_desk(config)
    webhooks = WebhookSender(create_app(config).test_client(), WEBHOOK_SECRET, SystemClock())
    yield desk, webhooks
    desk.sessions.kw["bind"].dispose()


def customers_write(account, webhooks, subjects):
    for subject in subjects:
        webhooks.ticket_event(account.write_in(subject))


def test_the_fifth_contact_about_one_subject_calls_the_referents_once(account, alerting, channel):
    desk, webhooks = alerting
    customers_write(account, webhooks, ["API down", "The API is down!", "api DOWN", "Is the API down?"])
    customers_write(account, webhooks, ["My invoice is wrong"] * 4)  # another subject, under the threshold
    drain_inbox(desk)
    assert channel.messages == []

    customers_write(account, webhooks, ["Password reset", "api is down"])
    drain_inbox(desk)

    assert len(channel.messages) == 1
    alert = channel.messages[0]
    assert alert.startswith(REFERENTS)
    assert '5 new tickets in 30 min about "api down"' in alert

    customers_write(account, webhooks, ["API down :("])
    drain_inbox(desk)
    assert len(channel.messages) == 1  # once per window, not once per ticket


def test_tickets_the_declared_outage_takes_in_raise_no_alert(account, alerting, channel):
    desk, webhooks = alerting
    customers_write(account, webhooks, ["API down"] * 3)
    drain_inbox(desk)
    customers_write(account, webhooks, ["API down"] * 2)  # they arrive while the outage is being declared
    desk.declare(outage(account))
    drain_inbox(desk)

    assert not any("Possible outage" in message for message in channel.messages)


def test_what_customers_wrote_is_shown_in_slack_as_text(account, alerting, channel):
    desk, webhooks = alerting
    customers_write(account, webhooks, ["<!channel> API down"] * 5)
    drain_inbox(desk)

    assert len(channel.messages) == 1
    assert '"&lt;!channel&gt; API down"' in channel.messages[0]
    assert "<!channel>" not in channel.messages[0]


def test_the_channel_hears_the_declaration_and_the_end_once(account, alerting, channel):
    desk, _ = alerting
    report = desk.declare(outage(account, title="API down: 503 everywhere"))
    assert channel.messages == [
        f":red_circle: Outage declared: *API down: 503 everywhere*. {report.taken_in} tickets taken in and linked "
        f"to problem ticket #{report.problem_ticket_id}; new ones follow as they arrive. Agents: the script is "
        "in the Outage Desk sidebar."]

    closing = desk.resolve(desk.incident(report.incident_id))
    desk.resolve(desk.incident(report.incident_id))  # a rerun: nothing new to say

    assert len(channel.messages) == 2
    assert channel.messages[1] == (
        f":white_check_mark: Outage resolved: *API down: 503 everywhere*. {sum(closing.sent.values())} customers "
        f"got the closing email; {len(closing.callbacks)} without an email address are on the call-back list.")
