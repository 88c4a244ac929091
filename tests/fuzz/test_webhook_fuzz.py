"""Fuzzing POST /webhooks/zendesk through Flask's test client.

Properties, whatever the body, headers and signature:
- never a 5xx, and the answer is always a JSON object with an "error" (refused) or "status" (2xx) key;
- a refused delivery (4xx) leaves every table as it was;
- a 2xx writes nothing but the inbox, and at most one row: exactly one when it says "accepted";
- a correctly signed, fresh body with a known event and a plainly valid ticket id is accepted once,
  stored under a key of its signed content (the event's own key, or the digest of the signed
  timestamp and body: the invocation id header is not signed, so it decides nothing), and its replay
  (the same signed delivery under any invocation id) is a "duplicate" that adds nothing; the same
  body signed at another second is a delivery of its own;
- a delivery whose signature is missing, wrong, stale or without a time zone is a 401.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from datetime import timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from app.intake.events import KNOWN_EVENTS
from app.intake.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, ZendeskSignature
from tests.fuzz.support import (assert_not_5xx, changed_tables, digitish_text, fuzz_examples, header_text, id_verdict,
                                json_reply, json_values, store_snapshot)

WEBHOOK = "/webhooks/zendesk"
INVOCATION = "X-Zendesk-Webhook-Invocation-Id"
WRONG_SECRET = "bm90X3RoZV93ZWJob29rX3NlY3JldF9hdF9hbGxfaGVyZQ=="
MAX_SKEW = 300
_unique = itertools.count()


def fresh_invocation() -> str:
    return f"fuzz-{next(_unique)}"


# -- signature plans: how the headers of one delivery are made ---------------------------------------


@dataclass(frozen=True)
class SignaturePlan:
    mode: str
    offset: int = 0  # seconds between the clock and the signed timestamp
    style: str = "Z"  # how the timestamp is written
    tz_minutes: int = 0  # the offset a "+HH:MM" timestamp is written in
    timestamp: str = ""  # garbage modes only
    signature: str = ""  # garbage modes only

    def headers(self, secret: str, clock, body: bytes) -> tuple[dict[str, str], bool]:
        """The signature headers, and whether a verifier must refuse them (401)."""
        signer = ZendeskSignature(secret, clock)
        if self.mode == "absent":
            return {}, True
        if self.mode == "empty":
            return {SIGNATURE_HEADER: "", TIMESTAMP_HEADER: ""}, True
        if self.mode in ("garbage", "garbage-signature"):
            stamp = self.timestamp if self.mode == "garbage" else self._stamp(clock)
            return ({SIGNATURE_HEADER: self.signature, TIMESTAMP_HEADER: stamp},
                    self.signature != signer.sign(stamp, body))
        stamp = self._stamp(clock)
        if self.mode == "only-timestamp":
            return {TIMESTAMP_HEADER: stamp}, True
        key, signed_body = secret, body
        if self.mode == "wrong-secret":
            key = WRONG_SECRET
        elif self.mode == "other-body":
            signed_body = body + b" "
        signature = ZendeskSignature(key, clock).sign(stamp, signed_body)
        if self.mode == "only-signature":
            return {SIGNATURE_HEADER: signature}, True
        must_refuse = (self.mode != "signed" or abs(self.offset) > MAX_SKEW or self.style == "naive")
        return {SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: stamp}, must_refuse

    def _stamp(self, clock) -> str:
        sent_at = clock.now() + timedelta(seconds=self.offset)
        if self.style == "Z":
            return sent_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.style == "micro":
            return sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.style == "naive":
            return sent_at.replace(tzinfo=None).isoformat()
        return sent_at.astimezone(timezone(timedelta(minutes=self.tz_minutes))).isoformat()


offsets = st.integers(-MAX_SKEW, MAX_SKEW) | st.integers(-10 ** 7, 10 ** 7)
styles = st.sampled_from(["Z", "micro", "offset", "naive"])
tz_minutes = st.integers(-(23 * 60 + 59), 23 * 60 + 59)
base64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=48)

signature_plans = st.one_of(
    st.builds(SignaturePlan, mode=st.just("signed"), offset=st.integers(-MAX_SKEW, MAX_SKEW), style=styles,
              tz_minutes=tz_minutes),
    st.builds(SignaturePlan, mode=st.sampled_from(["signed", "wrong-secret", "other-body", "only-signature",
                                                   "only-timestamp"]),
              offset=offsets, style=styles, tz_minutes=tz_minutes),
    st.builds(SignaturePlan, mode=st.sampled_from(["absent", "empty"])),
    st.builds(SignaturePlan, mode=st.just("garbage-signature"), offset=st.integers(-MAX_SKEW, MAX_SKEW),
              signature=header_text | base64ish),
    st.builds(SignaturePlan, mode=st.just("garbage"), timestamp=header_text | st.datetimes().map(str),
              signature=header_text | base64ish),
)
content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "garbage"])
invocation_ids = st.none() | st.just("") | header_text | st.text(alphabet="abc-0123456789", min_size=90,
                                                                  max_size=120)
methods = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "PATCH", "DELETE"])


def deliver(client, body: bytes, headers: dict, method: str = "POST"):
    return client.open(WEBHOOK, method=method, data=body, headers=headers)


def check_delivery(response, app_errors: list, before: dict, after: dict) -> tuple[dict, list[tuple]]:
    """The invariants of every delivery; returns the reply and the inbox rows it added."""
    assert_not_5xx(response, app_errors)
    reply = json_reply(response)
    changed = changed_tables(before, after)
    if response.status_code >= 400:
        assert "error" in reply, reply
        assert changed == [], f"refused with {response.status_code} {reply} but changed {changed}"
        return reply, []
    assert "status" in reply, reply
    assert set(changed) <= {"inbox"}, changed
    added = [row for row in after["inbox"] if row not in before["inbox"]]
    assert len(after["inbox"]) - len(before["inbox"]) == len(added), "an inbox row was changed or removed"
    if reply["status"] == "accepted":
        assert response.status_code == 202 and len(added) == 1, (response.status_code, added)
        assert added[0][0] == reply["id"], (added, reply)
    else:
        assert response.status_code == 200 and added == [], (response.status_code, reply, added)
        assert reply["status"] in ("duplicate", "ignored"), reply
    return reply, added


def signed_headers(config, clock, body: bytes, invocation: str | None) -> dict[str, str]:
    headers = ZendeskSignature(config.zendesk_webhook_secret, clock).headers(body)
    headers["Content-Type"] = "application/json"
    if invocation is not None:
        headers[INVOCATION] = invocation
    return headers


# -- what a valid body is, written from the contract rather than from the parser -----------------------

PLAIN_ID = re.compile(r"\s*[0-9]+\s*")


def ticket_id_verdict(value) -> str:
    return id_verdict(value, PLAIN_ID)


def delivery_key(headers: dict[str, str], body: bytes) -> str:
    """What a delivery without `updated_at` is stored under: its signed timestamp and body, whatever
    its other headers."""
    return "sha256:" + hashlib.sha256(headers.get(TIMESTAMP_HEADER, "").encode() + b"\n" + body).hexdigest()


# -- the tests ---------------------------------------------------------------------------------------

bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(lambda pad, ticket: (" " * pad + json.dumps({"ticket_id": ticket, "event": "ticket.created"})).encode(),
              st.integers(0, 70 * 1024), st.integers(1, 10 ** 6).map(str)),
)


@fuzz_examples(150)
@example(body=b"", plan=SignaturePlan(mode="garbage-signature", signature="\x80"), invocation=None, content_type=None,
         method="POST")
@given(body=bodies, plan=signature_plans, invocation=invocation_ids, content_type=content_types, method=methods)
def test_any_body_any_signature_headers(client, app_errors, sessions, clock, config, body, plan, invocation,
                                        content_type, method):
    headers, must_refuse = plan.headers(config.zendesk_webhook_secret, clock, body)
    if invocation is not None:
        headers[INVOCATION] = invocation
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = store_snapshot(sessions)

    response = deliver(client, body, headers, method)

    reply, added = check_delivery(response, app_errors, before, store_snapshot(sessions))
    if method != "POST":
        assert response.status_code == 405, (response.status_code, reply)
    elif len(body) > config.outage_desk_max_webhook_bytes:
        assert response.status_code == 413, (response.status_code, reply)
    elif must_refuse:
        assert response.status_code == 401, (plan, response.status_code, reply)
    if added and b"updated_at" not in body:
        assert added[0][1] == delivery_key(headers, body), (added, invocation)
        assert delivery_key(headers, body) not in [row[1] for row in before["inbox"]]


@fuzz_examples(150)
@given(value=json_values)
def test_any_json_value_correctly_signed(client, app_errors, sessions, clock, config, value):
    body = json.dumps(value).encode()
    before = store_snapshot(sessions)

    response = deliver(client, body, signed_headers(config, clock, body, fresh_invocation()))

    reply, added = check_delivery(response, app_errors, before, store_snapshot(sessions))
    if not isinstance(value, dict):
        assert response.status_code == 400, (response.status_code, reply)


missing = object()
event_values = st.one_of(st.sampled_from(sorted(KNOWN_EVENTS)),
                         st.sampled_from(["user.created", "ticket.deleted", "", "TICKET.CREATED", " ticket.created",
                                          "ticket.created\x00"]),
                         st.text(max_size=50), st.none(), st.booleans(), st.integers(), st.floats(),
                         st.lists(st.integers(), max_size=2), st.just(missing))
ticket_id_values = st.one_of(
    st.integers(1, 2 ** 63 - 1), st.integers(1, 2 ** 63 - 1).map(str),
    st.builds(lambda n, left, right: f"{left}{n}{right}", st.integers(0, 2 ** 64),
              st.sampled_from(["", " ", "\t", "0", "+", "-", "\n", "\u00a0"]),
              st.sampled_from(["", " ", "\n", ".0", "e3", "\u2003"])),
    st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=20), digitish_text,
    st.just("{{ticket.id}}"), st.lists(st.integers(1, 9), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                          st.integers(), max_size=2),
    st.just(missing))
encodings = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "utf-32", "latin-1"])


@st.composite
def ticket_event_bodies(draw):
    data = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    for key, values in (("event", event_values), ("ticket_id", ticket_id_values)):
        value = draw(values)
        if value is missing:
            data.pop(key, None)
        else:
            data[key] = value
    ensure_ascii = draw(st.booleans())
    encoding = "utf-8" if ensure_ascii else draw(encodings)
    text = json.dumps(data, ensure_ascii=ensure_ascii)
    return data, text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")


def as_delivery(data: dict) -> tuple[dict, bytes]:
    return data, json.dumps(data).encode()


@fuzz_examples(150)
@example(delivery=as_delivery({"event": "ticket.created", "ticket_id": "\u00b2"}))
@given(delivery=ticket_event_bodies())
def test_ticket_event_bodies_with_missing_or_odd_fields(client, app_errors, sessions, clock, config, delivery):
    data, body = delivery
    invocation = fresh_invocation()
    before = store_snapshot(sessions)

    headers = signed_headers(config, clock, body, invocation)
    response = deliver(client, body, headers)

    reply, added = check_delivery(response, app_errors, before, store_snapshot(sessions))
    try:
        decoded_ok = json.loads(body) == data
    except ValueError:
        decoded_ok = False
    if not decoded_ok:
        return  # e.g. Latin-1 bytes: not the JSON we meant, only the invariants apply
    event, verdict = data.get("event"), ticket_id_verdict(data.get("ticket_id"))
    if not isinstance(event, str) or not event or verdict == "invalid":
        assert response.status_code == 400 and added == [], (response.status_code, reply)
    elif verdict == "valid" and event not in KNOWN_EVENTS:
        assert (response.status_code, reply["status"], added) == (200, "ignored", []), reply
    elif verdict == "valid" and delivery_key(headers, body) in [row[1] for row in before["inbox"]]:
        # The same signed delivery came in an earlier example: a replay, whatever its invocation id.
        assert (response.status_code, reply, added) == (200, {"status": "duplicate"}, []), reply
    elif verdict == "valid":
        assert response.status_code == 202, (response.status_code, reply)
        assert [(row[1], row[2], row[3]) for row in added] == [(delivery_key(headers, body), event,
                                                                 int(str(data["ticket_id"])))]
        # Replayed under a new invocation id: acknowledged, never stored twice.
        before_replay = store_snapshot(sessions)
        replay = deliver(client, body, {**headers, INVOCATION: fresh_invocation()})
        reply, added = check_delivery(replay, app_errors, before_replay, store_snapshot(sessions))
        assert (replay.status_code, reply, added) == (200, {"status": "duplicate"}, [])


@fuzz_examples(75)
@given(event=st.sampled_from(sorted(KNOWN_EVENTS)), ticket_id=st.integers(1, 2 ** 63 - 1),
       invocation=invocation_ids, replays=st.integers(1, 3), later=st.integers(0, MAX_SKEW))
def test_redeliveries_are_stored_once(client, app_errors, sessions, clock, config, event, ticket_id, invocation,
                                      replays, later):
    body = json.dumps({"ticket_id": str(ticket_id), "event": event}).encode()
    headers = signed_headers(config, clock, body, invocation)
    before = store_snapshot(sessions)
    known_ids = {row[1] for row in before["inbox"]}

    first = deliver(client, body, headers)

    reply, added = check_delivery(first, app_errors, before, store_snapshot(sessions))
    if delivery_key(headers, body) in known_ids:
        assert (first.status_code, reply, added) == (200, {"status": "duplicate"}, [])
    else:
        assert first.status_code == 202 and [(r[1], r[2], r[3]) for r in added] == [(delivery_key(headers, body), event,
                                                                                     ticket_id)]
    for replay in range(replays):
        # The same body again: first the very same request, then signed again later (a new delivery
        # unless within the same second), under the same invocation id or a new one.
        snapshot = store_snapshot(sessions)
        moved = later if replay else 0
        clock.advance(moved)
        try:
            again_headers = headers if replay == 0 else signed_headers(
                config, clock, body, invocation if replay % 2 else fresh_invocation())
            again = deliver(client, body, again_headers)
        finally:
            clock.advance(-moved)  # the fixture's clock is shared by every example of this test
        reply, added = check_delivery(again, app_errors, snapshot, store_snapshot(sessions))
        if delivery_key(again_headers, body) in {row[1] for row in snapshot["inbox"]}:
            assert (again.status_code, reply, added) == (200, {"status": "duplicate"}, [])
        else:
            assert again.status_code == 202 and [r[1] for r in added] == [delivery_key(again_headers, body)]


@fuzz_examples(100)
@example(signature="\x80", offset=0)
@given(signature=header_text | base64ish, offset=st.integers(-MAX_SKEW, MAX_SKEW))
def test_a_forged_signature_with_a_fresh_timestamp_is_a_401(client, app_errors, sessions, clock, config, signature,
                                                           offset):
    body = json.dumps({"ticket_id": "7", "event": "ticket.created"}).encode()
    plan = SignaturePlan(mode="garbage-signature", offset=offset, signature=signature)
    headers, must_refuse = plan.headers(config.zendesk_webhook_secret, clock, body)
    headers[INVOCATION] = fresh_invocation()
    before = store_snapshot(sessions)

    response = deliver(client, body, headers)

    reply, _ = check_delivery(response, app_errors, before, store_snapshot(sessions))
    if must_refuse:
        assert response.status_code == 401 and "signature" in reply["error"], (response.status_code, reply)
