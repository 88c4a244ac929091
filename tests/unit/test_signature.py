from datetime import datetime, timezone

import pytest

from app.errors import SignatureError
from app.intake.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, ZendeskSignature
from tests.helpers import FrozenClock

# Zendesk's published inputs; the signature is base64(HMAC-SHA256(secret, timestamp + body)).
SECRET = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
BODY = b'{"say": "hello"}'
TIMESTAMP = "2021-07-25T10:00:00Z"
EXPECTED = "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="


@pytest.fixture
def signature():
    return ZendeskSignature(SECRET, FrozenClock(datetime(2021, 7, 25, 10, 1, tzinfo=timezone.utc)))


def test_signs_timestamp_then_raw_body_with_the_secret_as_is(signature):
    assert signature.sign(TIMESTAMP, BODY) == EXPECTED


def test_accepts_zendesks_signature(signature):
    signature.verify({SIGNATURE_HEADER: EXPECTED, TIMESTAMP_HEADER: TIMESTAMP}, BODY)


@pytest.mark.parametrize("headers, reason", [
    ({}, "missing"),
    ({SIGNATURE_HEADER: EXPECTED}, "missing"),
    ({SIGNATURE_HEADER: EXPECTED, TIMESTAMP_HEADER: "yesterday"}, "malformed"),
    ({SIGNATURE_HEADER: "x" + EXPECTED[1:], TIMESTAMP_HEADER: TIMESTAMP}, "does not match"),
    ({SIGNATURE_HEADER: EXPECTED, TIMESTAMP_HEADER: "2021-07-25T09:50:00Z"}, "stale"),
])
def test_refuses_what_it_cannot_trust(signature, headers, reason):
    with pytest.raises(SignatureError, match=reason):
        signature.verify(headers, BODY)


def test_a_changed_body_no_longer_matches(signature):
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify({SIGNATURE_HEADER: EXPECTED, TIMESTAMP_HEADER: TIMESTAMP}, BODY + b" ")
