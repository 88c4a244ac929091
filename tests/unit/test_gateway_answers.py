"""Bad answers and slow answers: each a named ZendeskError that says which call, retried a bounded number of times."""

import base64
import random
import threading
import time
from dataclasses import replace

import pytest
import responses

from app.errors import Stopped, ZendeskBadAnswer, ZendeskTimeout
from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway
from tests.faulty_zendesk import SILENT, FaultyZendesk, drip

API = "https://acme.zendesk.com/api/v2"
ME = {"user": {"id": 1, "name": "API", "role": "admin"}}


def gateway_for(config, clock, stop=None):
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit, stop), rate_limit, clock, rng=random.Random(1))


@pytest.fixture
def gateway(config, clock):
    return gateway_for(config, clock)


BAD_BODIES = {
    "html": ("<html><body><h1>502 Bad Gateway</h1></body></html>", "is not JSON (50 bytes of text/html)"),
    "cut-off json": ('{"user": {"id": 1, "na', "is not JSON (22 bytes of application/json)"),
    "empty": ("", "is not JSON (an empty body)"),
    "a list": ('[{"id": 1}]', "is not a JSON object"),
    "null user": ('{"user": null}', "'user' is not an object"),
    "no id": ('{"user": {"name": "API"}}', "KeyError: 'id'"),
    "id of the wrong type": ('{"user": {"id": {"a": 1}}}', "TypeError"),
}


@pytest.mark.parametrize("bad", BAD_BODIES, ids=list(BAD_BODIES))
@responses.activate
def test_a_bad_answer_is_retried_twice_with_backoff_then_named_with_its_call_and_what_is_wrong(gateway, clock, bad):
    text, problem = BAD_BODIES[bad]
    responses.get(f"{API}/users/me.json", body=text, content_type="text/html" if "html" in bad else "application/json")

    with pytest.raises(ZendeskBadAnswer) as raised:
        gateway.me()

    error = raised.value
    assert len(responses.calls) == 3
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0]
    assert str(error).startswith("Zendesk's answer to GET /api/v2/users/me.json ") and problem in str(error)
    assert not {"{", "<"} & set(str(error))  # the body is described, never quoted
    assert (error.endpoint, error.status, error.exit_code) == ("GET /api/v2/users/me.json", 200, 4)


@responses.activate
def test_a_bad_answer_once_is_forgotten_when_the_retry_answers_well(gateway, clock):
    responses.get(f"{API}/users/me.json", body="<html>maintenance</html>", content_type="text/html")
    responses.get(f"{API}/users/me.json", json=ME)
    assert gateway.me().id == 1
    assert len(clock.sleeps) == 1


@responses.activate
def test_wrong_shapes_of_lists_and_jobs_name_the_tickets_they_were_about(gateway):
    responses.get(f"{API}/tickets/show_many.json", json={"tickets": None})
    with pytest.raises(ZendeskBadAnswer, match="'tickets' is not a list of objects") as raised:
        gateway.tickets([3, 1, 2])
    assert raised.value.tickets == (1, 2, 3)
    assert raised.value.log_fields() == {"error": "ZendeskBadAnswer", "endpoint": "GET /api/v2/tickets/show_many.json",
                                         "status": 200, "tickets": "1,2,3"}

    responses.put(f"{API}/tickets/update_many.json", json={"job_status": {"status": "queued"}})
    with pytest.raises(ZendeskBadAnswer, match="'id' is missing") as raised:
        gateway.bulk_update([{"id": 7, "additional_tags": ["api_down"]}])
    assert raised.value.tickets == (7,)


@responses.activate
def test_a_job_status_without_id_is_a_bad_answer_not_a_key_error(gateway):
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": {"id": "j1", "status": "queued"}})
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [{"status": "completed"}]})
    with pytest.raises(ZendeskBadAnswer, match="KeyError: 'id'") as raised:
        gateway.bulk_update([{"id": i, "additional_tags": ["api_down"]} for i in range(1, 31)])
    assert raised.value.tickets == tuple(range(1, 31))  # those waiting on the job, not the job's id
    assert raised.value.log_fields()["tickets"] == ",".join(map(str, range(1, 21))) + ",+10 more"


@responses.activate
def test_a_proxy_page_that_echoes_the_credentials_never_shows_them(gateway, config):
    echo = f"<html>Bad request. Authorization: Basic ... token {config.zendesk_api_token} rejected</html>"
    responses.get(f"{API}/users/me.json", body=echo, content_type="text/html")
    with pytest.raises(ZendeskBadAnswer) as raised:
        gateway.me()
    assert str(raised.value) == (f"Zendesk's answer to GET /api/v2/users/me.json is not JSON "
                                 f"({len(echo)} bytes of text/html)")


@pytest.fixture
def faulty():
    zendesk = FaultyZendesk()
    yield zendesk
    zendesk.close()


@pytest.mark.parametrize("whole", [True, False], ids=["drips its headers", "drips its body"])
def test_a_slow_drip_ends_at_the_deadline_and_is_tried_once_more(config, clock, faulty, whole):
    faulty.fail("/api/v2/users/me.json", drip(0.1, whole))
    gateway = gateway_for(replace(config, zendesk_url=faulty.url, zendesk_timeout_seconds=1), clock)

    started = time.monotonic()
    with pytest.raises(ZendeskTimeout, match=r"^Zendesk took longer than 1 s to answer GET /api/v2/users/me.json$"):
        gateway.me()
    assert time.monotonic() - started < 3.5  # two attempts of 1 s; the backoff sleep is the test clock's
    assert faulty.count("/api/v2/users/me.json") == 2 and len(clock.sleeps) == 1


def test_a_stop_cuts_a_silent_call_short(config, clock, faulty):
    faulty.fail("/api/v2/users/me.json", SILENT)
    stop = threading.Event()
    gateway = gateway_for(replace(config, zendesk_url=faulty.url, zendesk_timeout_seconds=120), clock, stop)
    threading.Timer(0.5, stop.set).start()

    started = time.monotonic()
    with pytest.raises(Stopped):
        gateway.me()
    assert time.monotonic() - started < 1.5
    with pytest.raises(Stopped):
        gateway.me()  # and no new call starts
    assert faulty.count("/api/v2/users/me.json") == 1


def test_silence_is_a_timeout_too_tried_once_more(config, clock, faulty):
    faulty.fail("/api/v2/users/me.json", SILENT)
    gateway = gateway_for(replace(config, zendesk_url=faulty.url, zendesk_timeout_seconds=1), clock)
    started = time.monotonic()
    with pytest.raises(ZendeskTimeout, match="GET /api/v2/users/me.json"):
        gateway.me()
    assert time.monotonic() - started < 3.5
    assert faulty.count("/api/v2/users/me.json") == 2


@responses.activate
def test_a_job_result_echoing_the_credentials_is_redacted_in_the_tickets_reason(gateway, config):
    login = f"{config.zendesk_email}/token:{config.zendesk_api_token}"
    basic = base64.b64encode(login.encode()).decode()
    responses.put(f"{API}/tickets/update_many.json", json={"job_status": {"id": "j1", "status": "queued"}})
    echo = f"proxy saw Authorization: Basic {basic} ({login}); token {config.zendesk_api_token}"
    responses.get(f"{API}/job_statuses/show_many.json", json={"job_statuses": [
        {"id": "j1", "status": "completed", "results": [{"id": 7, "error": "PermissionDenied", "details": echo}]}]})

    outcome = gateway.bulk_update([{"id": 7, "additional_tags": ["api_down"]}])

    assert outcome.failed == {7: "PermissionDenied: proxy saw Authorization: [redacted] ([redacted]); token [redacted]"}


SETTINGS_BODIES = {
    "no localization": ('{"settings": {}}', "'settings.localization' is not an object"),
    "no zone": ('{"settings": {"localization": {"time_zone": "Paris"}}}', "'iana_time_zone' is missing"),
    "unknown zone": ('{"settings": {"localization": {"iana_time_zone": "Mars/Olympus"}}}', "unknown time zone"),
}


@pytest.mark.parametrize("bad", SETTINGS_BODIES, ids=list(SETTINGS_BODIES))
@responses.activate
def test_account_settings_without_a_usable_time_zone_are_a_bad_answer(gateway, bad):
    text, problem = SETTINGS_BODIES[bad]
    responses.get(f"{API}/account/settings.json", body=text, content_type="application/json")

    with pytest.raises(ZendeskBadAnswer, match=problem):
        gateway.account_time_zone()


@responses.activate
def test_the_accounts_time_zone_is_read_from_its_settings(gateway):
    responses.get(f"{API}/account/settings.json", content_type="application/json",
                  body='{"settings": {"localization": {"time_zone": "Paris", "iana_time_zone": "Europe/Paris"}}}')
    assert gateway.account_time_zone().key == "Europe/Paris"
