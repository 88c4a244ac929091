"""The gateway's Talk calls: typed answers, offset pages followed, a 403 named for what it means."""

import random

import pytest
import responses

from app.errors import TalkUnavailable, ZendeskAuthError, ZendeskBadAnswer
from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway

VOICE = "https://acme.zendesk.com/api/v2/channels/voice"
FORBIDDEN = {"error": {"title": "Forbidden", "message": "You do not have access to this page."}}


@pytest.fixture
def gateway(config, clock):
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock, rng=random.Random(1))


@responses.activate
def test_the_lines_of_every_page_come_back_with_their_greetings_in_order(gateway):
    responses.get(f"{VOICE}/phone_numbers.json", json={
        "phone_numbers": [{"id": 1, "number": "+331", "country_code": "FR", "greeting_ids": [7, 3]}],
        "next_page": f"{VOICE}/phone_numbers.json?page=2&per_page=100", "previous_page": None, "count": 2})
    responses.get(f"{VOICE}/phone_numbers.json?page=2&per_page=100", json={
        "phone_numbers": [{"id": 2, "display_number": "+1 415", "greeting_ids": []}], "next_page": None, "count": 2})

    lines = gateway.phone_lines()

    assert [(line.id, line.number, line.country_code, line.greeting_ids) for line in lines] == [
        (1, "+331", "FR", (7, 3)), (2, "+1 415", None, ())]


@responses.activate
def test_an_idle_queue_s_null_counters_read_as_zero_and_a_missing_one_is_a_bad_answer(gateway):
    responses.get(f"{VOICE}/stats/current_queue_activity.json", json={"current_queue_activity": {
        "calls_waiting": 0, "callbacks_waiting": None, "average_wait_time": None, "longest_wait_time": None,
        "agents_online": 3}})
    assert gateway.queue_activity().callbacks_waiting == 0
    responses.replace(responses.GET, f"{VOICE}/stats/current_queue_activity.json",
                      json={"current_queue_activity": {"agents_online": 3}})
    with pytest.raises(ZendeskBadAnswer, match="calls_waiting"):
        gateway.queue_activity()


@responses.activate
def test_a_403_from_talk_says_talk_is_not_available_and_is_not_retried(gateway):
    responses.get(f"{VOICE}/greetings.json", json=FORBIDDEN, status=403)
    responses.put(f"{VOICE}/phone_numbers/5.json", json={"error": "Couldn't authenticate you"}, status=401)

    with pytest.raises(TalkUnavailable, match="Zendesk Talk is not enabled on this account"):
        gateway.greetings()
    with pytest.raises(ZendeskAuthError) as raised:
        gateway.set_line_greetings(5, [1])

    assert not isinstance(raised.value, TalkUnavailable)  # bad credentials are not a missing Talk
    assert len(responses.calls) == 2
