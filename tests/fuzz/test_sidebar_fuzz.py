"""Fuzzing the sidebar API (/api/...) through Flask's test client.

Zendesk's users endpoint (the role lookup) is mocked at the HTTP boundary with `responses`, for any
user id: a user's role is a fixed function of the id, so the role cache can never disagree with it.

Properties, whatever the path, method, body and token:
- never a 5xx, and the answer is a JSON object (with an "error" when refused);
- a request without a valid token (missing, garbage, wrong secret, wrong algorithm, tampered) is a 401
  (or the router's 404/405) and changes nothing in the store;
- a token signed with the right secret but with claims the contract refuses (non-numeric or missing
  subject, missing/expired/too long/non-numeric expiry, another account, a user who is not an agent)
  is a 401/403 (or 404/405) and changes nothing;
- any refused request (4xx), authenticated or not, changes nothing; a 2xx writes incidents/tasks only;
- declaring and the state lookup answer bad input with a 400, as the contract says;
- the request path asks Zendesk for users only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import warnings
from urllib.parse import parse_qs, quote, urlsplit

import jwt
import pytest
import responses
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.store.tables import IncidentRow
from app.web import create_app
from tests.helpers import FrozenClock
from tests.fuzz.support import (assert_not_5xx, changed_tables, digitish_text, fuzz_examples, header_text, id_verdict,
                                json_reply, json_values, record_app_errors, store_snapshot)

SHARED_SECRET = "zaf-shared-secret-for-the-sidebar-fuzzing"
ACCOUNT = "acme"  # the config fixture's subdomain
USERS_URL = re.compile(r"https://acme\.zendesk\.com/api/v2/users/show_many\.json(\?.*)?$")
AGENT, ADMIN, CUSTOMER = 100003, 100002, 100050
LEEWAY, MAX_LIFETIME = 30, 300
ROUTER_REFUSALS = (404, 405)  # no route or method: the blueprint's guard never runs, nothing is written
MISSING = object()  # a claim or field left out
NOW = int(FrozenClock().now().timestamp())  # the clock fixture's frozen time, for module-level strategies


def role_for(user_id: int) -> str | None:
    """Zendesk's answer for a user: None is "no such user" (an empty `users` list)."""
    fixed = {AGENT: "agent", ADMIN: "admin", CUSTOMER: "end-user"}
    return fixed.get(user_id, (None, "agent", "admin", "end-user")[user_id % 4])


def _users_show_many(request):
    ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
    users = [{"id": int(i), "name": f"user {i}", "role": role_for(int(i))} for i in ids if role_for(int(i))]
    return 200, {"Content-Type": "application/json"}, json.dumps({"users": users})


@pytest.fixture
def zendesk():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, USERS_URL, callback=_users_show_many)
        yield mock


@pytest.fixture
def sidebar_app(config, sessions, clock, zendesk):
    return create_app(config.with_overrides(zaf_shared_secret=SHARED_SECRET), clock=clock)


@pytest.fixture
def sidebar(sidebar_app):
    return sidebar_app.test_client()


@pytest.fixture
def sidebar_errors(sidebar_app) -> list[BaseException]:
    return record_app_errors(sidebar_app)


# -- tokens ------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_hs256(payload: bytes, secret: str = SHARED_SECRET) -> str:
    """A JWT with any payload bytes, HS256-signed with `secret` (for payloads PyJWT will not encode)."""
    signing_input = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64url(payload)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def encode(claims: dict, secret: str | None = SHARED_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short keys for HS384/HS512 are what we mean to send
        return jwt.encode(claims, secret, algorithm=algorithm)


def good_claims(user_id: int = AGENT) -> dict:
    return {"sub": str(user_id), "account": ACCOUNT, "exp": NOW + 60}


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


extra_claim_values = st.sampled_from(["admin", "agent", "end-user"]) | st.text(max_size=8) | st.integers() | st.none()


@st.composite
def forged_authorizations(draw):
    """Authorization headers no verifier may accept: (kind, headers)."""
    kind = draw(st.sampled_from(["none", "not-bearer", "bearer-garbage", "three-segments", "wrong-secret",
                                 "alg-none", "other-hmac", "tampered", "not-an-object", "empty-bearer"]))
    claims = good_claims(draw(st.sampled_from([AGENT, ADMIN])))
    claims.update(draw(st.dictionaries(st.sampled_from(["role", "name", "email", "jti"]), extra_claim_values,
                                       max_size=2)))
    if kind == "none":
        return kind, {}
    if kind == "not-bearer":
        return kind, {"Authorization": draw(header_text.filter(lambda v: not v.startswith("Bearer ")))}
    if kind == "empty-bearer":
        return kind, {"Authorization": draw(st.sampled_from(["Bearer", "Bearer ", "Bearer  ", "Bearer null",
                                                             "Basic " + encode(claims)]))}
    if kind == "bearer-garbage":
        return kind, {"Authorization": "Bearer " + draw(header_text)}
    if kind == "three-segments":
        segments = draw(st.lists(st.binary(max_size=40).map(b64url), min_size=3, max_size=3))
        return kind, bearer(".".join(segments))
    if kind == "wrong-secret":
        secret = draw(st.text(min_size=32, max_size=64).filter(lambda s: s != SHARED_SECRET))
        return kind, bearer(encode(claims, secret))
    if kind == "alg-none":
        return kind, bearer(encode(claims, None, algorithm="none"))
    if kind == "other-hmac":
        return kind, bearer(encode(claims, SHARED_SECRET, algorithm=draw(st.sampled_from(["HS384", "HS512"]))))
    if kind == "tampered":
        # A genuine token for one user, its payload swapped for an admin's: the signature no longer fits.
        header, _, signature = encode(claims).split(".")
        payload = b64url(json.dumps({**claims, "sub": str(ADMIN), "role": "admin"}).encode())
        return kind, bearer(f"{header}.{payload}.{signature}")
    # Signed with the right secret, but the payload is not a JSON object.
    payload = draw(json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode())
                   | st.binary(max_size=40))
    return kind, bearer(raw_hs256(payload))


odd_subs = st.one_of(st.integers(0, 10 ** 30).map(str), st.integers(2 ** 63 - 2, 2 ** 63 + 6).map(str),
                     st.integers(), digitish_text, st.text(max_size=12), st.sampled_from(["", " 100003", "100003 ",
                                                                                          "+100003", "0x10"]),
                     st.none(), st.just(MISSING))


@st.composite
def random_claims(draw):
    """Claims signed with the right secret: valid ones with any of sub/exp/account perturbed.

    Returns (claims, must_refuse, reason)."""
    now = NOW
    odd_exps = st.one_of(
        st.sampled_from([now - LEEWAY - 1, now - LEEWAY, now + MAX_LIFETIME, now + MAX_LIFETIME + 1]),
        st.integers(-10 ** 6, 10 ** 6).map(lambda d: now + d), st.integers(), st.integers(10 ** 18, 10 ** 40),
        st.floats(min_value=now - 60, max_value=now + 400), st.floats(), st.text(max_size=12), st.booleans(),
        st.none(), st.lists(st.integers(), max_size=2), st.just(MISSING))
    odd_accounts = st.one_of(st.sampled_from(["ACME", "acme ", "someone-else", ""]), st.text(max_size=12),
                             st.integers(), st.none(), st.just(MISSING))
    user = draw(st.sampled_from([AGENT, ADMIN, CUSTOMER]) | st.integers(1, 10 ** 6))
    claims = {"sub": str(user), "account": ACCOUNT, "exp": now + draw(st.integers(-LEEWAY, MAX_LIFETIME))}
    for key, odd in (("sub", odd_subs), ("exp", odd_exps), ("account", odd_accounts)):
        if draw(st.integers(0, 2)) == 0:
            value = draw(odd)
            if value is MISSING:
                del claims[key]
            else:
                claims[key] = value
    claims.update(draw(st.dictionaries(st.sampled_from(["role", "name", "email", "scope"]), extra_claim_values,
                                       max_size=2)))
    return claims, *contract_refuses(claims, now)


def contract_refuses(claims: dict, now: float) -> tuple[bool, str]:
    """Whether the sidebar's contract refuses these claims, read from the claims alone (not the verifier)."""
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or (isinstance(exp, float) and math.isnan(exp)):
        return True, "no numeric expiry"
    if exp + LEEWAY < now:
        return True, "expired"
    if exp > now + MAX_LIFETIME:
        return True, "lives too long"
    if claims.get("account") != ACCOUNT:
        return True, "another account"
    sub = claims.get("sub")
    if sub is None or (isinstance(sub, str) and not any(ch.isdigit() or ch.isnumeric() for ch in sub)):
        return True, "no numeric subject"
    if isinstance(sub, str) and re.fullmatch(r"[0-9]+", sub) and role_for(int(sub)) not in ("agent", "admin"):
        return True, f"role {role_for(int(sub))}"
    return False, ""


# -- requests ----------------------------------------------------------------------------------------

path_ints = st.one_of(st.integers(0, 4), st.integers(-3, 10 ** 6), st.integers(2 ** 63 - 2, 2 ** 70)).map(str)
path_segments = path_ints | st.text(max_size=12).map(lambda text: quote(text, safe=""))
ticket_id_params = st.one_of(path_ints, digitish_text, st.text(max_size=10), st.just(MISSING))
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
QUERIES = {"API": True, "subject:API": True, "status<solved": True, "tags:api_down": True, "API -tags:noise": True,
           '"unbalanced': False, "foo:bar": False, "status:nonsense": False, "created>not-a-date": False}


@st.composite
def api_requests(draw):
    """(method, path, client.open keyword arguments) within and around the blueprint's routes."""
    route = draw(st.sampled_from(["state", "incidents", "attach", "detach", "notify", "resolve", "random"]))
    seg = draw(path_segments)
    path = {"state": "/api/state", "incidents": "/api/incidents", "attach": f"/api/incidents/{seg}/tickets",
            "detach": f"/api/incidents/{seg}/tickets/{draw(path_segments)}",
            "notify": f"/api/incidents/{seg}/notify-mine", "resolve": f"/api/incidents/{seg}/resolve",
            "random": "/api/" + "/".join(draw(st.lists(path_segments, max_size=4)))}[route]
    default_method = {"state": "GET", "detach": "DELETE"}.get(route, "POST")
    method = draw(st.sampled_from([default_method] * 6 + METHODS))
    kwargs: dict = {}
    ticket_id = draw(ticket_id_params)
    if ticket_id is not MISSING:
        kwargs["query_string"] = {"ticket_id": ticket_id}
    body_kind = draw(st.sampled_from(["none", "declare", "ticket", "json", "bytes", "form"]))
    if body_kind == "declare":
        kwargs.update(data=json.dumps(draw(declare_bodies())[0]), content_type="application/json")
    elif body_kind == "ticket":
        value = draw(ticket_id_params | st.integers() | json_values)
        kwargs.update(data=json.dumps({} if value is MISSING else {"ticket_id": value}),
                      content_type="application/json")
    elif body_kind == "json":
        kwargs.update(data=json.dumps(draw(json_values)), content_type="application/json")
    elif body_kind == "bytes":
        kwargs.update(data=draw(st.binary(max_size=200)), content_type=draw(st.sampled_from(
            ["application/json", "text/plain", "application/octet-stream"])))
    elif body_kind == "form":
        kwargs.update(data=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)))
    return method, path, kwargs


# The sidebar's calls carry bare digits: signs and spaces around them are left unclear.
API_ID = re.compile(r"[0-9]+")


def api_ticket_verdict(value) -> str:
    return id_verdict(value, API_ID)


@st.composite
def declare_bodies(draw):
    """A declare body, each field valid or odd: (body, verdict) with verdict "valid", "invalid" or "unclear"."""
    verdicts = []
    body = {}
    ticket_id = draw(st.integers(1, 2 ** 63 - 1) | ticket_id_params | st.integers() | json_values)
    if ticket_id is not MISSING:
        body["ticket_id"] = ticket_id
    verdicts.append("invalid" if ticket_id is MISSING else api_ticket_verdict(ticket_id))
    title = draw(st.text(min_size=1, max_size=250).filter(str.strip) | st.sampled_from(["", "   ", MISSING])
                 | json_values)
    if title is not MISSING:
        body["title"] = title
    verdicts.append("valid" if isinstance(title, str) and title[:200].strip() else
                    "invalid" if title in (MISSING, None, "") or (isinstance(title, str) and not title.strip())
                    else "unclear")
    query = draw(st.sampled_from(sorted(QUERIES)) | st.text(max_size=30) | json_values)
    body["query"] = query
    known = isinstance(query, str) and query in QUERIES
    verdicts.append(("valid" if QUERIES[query] else "invalid") if known else "unclear")
    severity = draw(st.integers(1, 4) | st.integers() | json_values | st.just(MISSING))
    if severity is not MISSING:
        body["severity"] = severity
    verdicts.append("valid" if severity is MISSING or (type(severity) is int and 1 <= severity <= 4) else "invalid")
    body.update(draw(st.dictionaries(st.sampled_from(["tag", "kind", "state", "id"]), json_values, max_size=2)))
    verdict = "invalid" if "invalid" in verdicts else "unclear" if "unclear" in verdicts else "valid"
    return body, verdict


def ensure_declared_incident(client, clock, sessions) -> None:
    """Give the id-bearing routes something to find: a declared incident (the active one, or a new one)."""
    assert clock.now().timestamp() == NOW, "the strategies assume the clock fixture's frozen time"
    if "declared" in incident_ids(sessions):
        return
    finish_resolving(sessions)
    response = client.post("/api/incidents", headers=bearer(encode(good_claims())),
                           json={"ticket_id": 1, "title": "API down", "query": "API"})
    assert response.status_code == 202, (response.status_code, response.data[:300])


def incident_ids(sessions) -> dict[str, int]:
    """The newest incident id per state."""
    with sessions() as session:
        rows = session.execute(select(IncidentRow.state, func.max(IncidentRow.id)).group_by(IncidentRow.state))
        return {state: incident_id for state, incident_id in rows}


# Calls that write when the caller is allowed to: a refusal that still writes cannot hide among failures.
WELL_FORMED = [
    ("GET", "/api/state", {"query_string": {"ticket_id": "42"}}),
    ("POST", "/api/incidents", {"json": {"ticket_id": 42, "title": "API down", "query": "API", "severity": 1}}),
    ("POST", "/api/incidents/{declared}/tickets", {"json": {"ticket_id": 42}}),
    ("DELETE", "/api/incidents/{declared}/tickets/43", {}),
    ("POST", "/api/incidents/{declared}/resolve", {}),
    ("POST", "/api/incidents/{resolved}/notify-mine", {}),
]
well_formed_requests = st.sampled_from(WELL_FORMED)


def fill_ids(path: str, sessions) -> str:
    """Put the newest declared/resolved incident ids into a WELL_FORMED path."""
    if "{" not in path:
        return path
    ids = incident_ids(sessions)
    declared = ids.get("declared", 1)
    return path.format(declared=declared, resolved=ids.get("resolved", declared))


def resolve_active_incidents(client, clock, sessions) -> None:
    with sessions() as session:
        active = list(session.scalars(select(IncidentRow.id).where(IncidentRow.state == "declared")))
    for incident_id in active:
        response = client.post(f"/api/incidents/{incident_id}/resolve", headers=bearer(encode(good_claims(ADMIN))))
        assert response.status_code == 202, (response.status_code, response.data[:300])
    finish_resolving(sessions)


def finish_resolving(sessions) -> None:
    """A resolving incident holds its tag until the worker has sent its replies; there is no worker
    here, and no ticket to notify: it is over."""
    with sessions() as session:
        session.execute(update(IncidentRow).where(IncidentRow.state == "resolving").values(state="resolved"))
        session.commit()


def check_call(response, app_errors, method: str, before: dict, after: dict) -> dict:
    """The invariants of every call: no 5xx, JSON, a refusal writes nothing, a 2xx only incidents/tasks."""
    assert_not_5xx(response, app_errors)
    changed = changed_tables(before, after)
    if method == "HEAD" or (method == "OPTIONS" and response.status_code == 200):
        assert changed == [], changed
        return {}
    reply = json_reply(response)
    if response.status_code >= 400:
        assert "error" in reply, reply
        assert changed == [], f"refused with {response.status_code} {reply} but changed {changed}"
    else:
        assert set(changed) <= {"incidents", "tasks"}, changed
    return reply


def only_users_were_asked(zendesk) -> None:
    urls = [call.request.url for call in zendesk.calls]
    assert all(USERS_URL.match(url) for url in urls), urls


# -- the tests -----------------------------------------------------------------------------------


@fuzz_examples(120)
@given(authorization=forged_authorizations(), call=well_formed_requests | api_requests())
def test_forged_or_missing_tokens_are_401_and_change_nothing(sidebar, sidebar_errors, sessions, clock, zendesk,
                                                             authorization, call):
    ensure_declared_incident(sidebar, clock, sessions)
    kind, headers = authorization
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before = store_snapshot(sessions)

    response = sidebar.open(path, method=method, headers=headers, **kwargs)

    reply = check_call(response, sidebar_errors, method, before, store_snapshot(sessions))
    assert response.status_code in (401, *ROUTER_REFUSALS), (kind, response.status_code, reply)
    only_users_were_asked(zendesk)


def claims_case(**claims) -> tuple[dict, bool, str]:
    return claims, *contract_refuses(claims, NOW)


@fuzz_examples(120)
@example(token=claims_case(sub="100003", account=ACCOUNT, exp=math.nan), call=WELL_FORMED[2])
@example(token=claims_case(sub="\u00b2", account=ACCOUNT, exp=NOW + 60), call=WELL_FORMED[0])
@example(token=claims_case(sub=str(2 ** 63 + 1), account=ACCOUNT, exp=NOW + 60), call=WELL_FORMED[2])
@given(token=random_claims(), call=well_formed_requests)
def test_right_secret_random_claims(sidebar, sidebar_errors, sessions, clock, zendesk, token, call):
    ensure_declared_incident(sidebar, clock, sessions)
    claims, must_refuse, reason = token
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before = store_snapshot(sessions)

    response = sidebar.open(path, method=method, headers=bearer(encode(claims)), **kwargs)

    reply = check_call(response, sidebar_errors, method, before, store_snapshot(sessions))
    if must_refuse:
        assert response.status_code in (401, 403, *ROUTER_REFUSALS), (reason, response.status_code, reply)
        assert changed_tables(before, store_snapshot(sessions)) == []
    only_users_were_asked(zendesk)


RESOLVE_PATH = re.compile(r"/api/incidents/[0-9]+/resolve")
callers = st.sampled_from([AGENT, ADMIN]) | st.integers(1, 2 ** 63 - 1).filter(
    lambda i: role_for(i) in ("agent", "admin"))


@fuzz_examples(120)
@example(caller=ADMIN, call=("POST", f"/api/incidents/{2 ** 63}/resolve", {}))
@example(caller=AGENT, call=("DELETE", f"/api/incidents/{{declared}}/tickets/{2 ** 63}", {}))
@given(caller=callers, call=well_formed_requests | api_requests())
def test_agents_and_admins_any_request(sidebar, sidebar_errors, sessions, clock, zendesk, caller, call):
    ensure_declared_incident(sidebar, clock, sessions)
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before = store_snapshot(sessions)

    response = sidebar.open(path, method=method, headers=bearer(encode(good_claims(caller))), **kwargs)

    reply = check_call(response, sidebar_errors, method, before, store_snapshot(sessions))
    if method == "POST" and RESOLVE_PATH.fullmatch(path) and role_for(caller) != "admin":
        # 403, or 404/409 should the incident's existence or state be checked first: never a 2xx.
        assert 400 <= response.status_code < 500, ("only admins resolve", response.status_code, reply)
    only_users_were_asked(zendesk)


@fuzz_examples(100)
@example(declare=({"ticket_id": 1, "title": "API down", "query": '"unbalanced'}, "invalid"), active=False,
         caller=AGENT)
@given(declare=declare_bodies(), active=st.booleans(), caller=st.sampled_from([AGENT, ADMIN]))
def test_declaring_from_the_sidebar(sidebar, sidebar_errors, sessions, clock, zendesk, declare, active, caller):
    body, verdict = declare
    if active:
        ensure_declared_incident(sidebar, clock, sessions)
    else:
        resolve_active_incidents(sidebar, clock, sessions)
    before = store_snapshot(sessions)

    response = sidebar.post("/api/incidents", headers=bearer(encode(good_claims(caller))), json=body)

    after = store_snapshot(sessions)
    reply = check_call(response, sidebar_errors, "POST", before, after)
    if verdict == "invalid":
        assert response.status_code == 400, (response.status_code, reply)
    elif verdict == "valid" and active:
        assert response.status_code == 409, (response.status_code, reply)
    elif verdict == "valid":
        assert response.status_code == 202, (response.status_code, reply)
        assert (reply["incident"]["title"], reply["incident"]["state"]) == (body["title"][:200], "declared")
        added = [row for row in after["incidents"] if row not in before["incidents"]]
        assert len(added) == 1 and changed_tables(before, after) == ["incidents"], added
    only_users_were_asked(zendesk)


@fuzz_examples(100)
@example(ticket_id="\u00b2", caller=AGENT)
@given(ticket_id=ticket_id_params, caller=st.sampled_from([AGENT, ADMIN]))
def test_state_lookup(sidebar, sidebar_errors, sessions, clock, zendesk, ticket_id, caller):
    assert clock.now().timestamp() == NOW
    before = store_snapshot(sessions)
    query = {} if ticket_id is MISSING else {"ticket_id": ticket_id}

    response = sidebar.get("/api/state", headers=bearer(encode(good_claims(caller))), query_string=query)

    reply = check_call(response, sidebar_errors, "GET", before, store_snapshot(sessions))
    verdict = "invalid" if ticket_id is MISSING else api_ticket_verdict(ticket_id)
    if verdict == "invalid":
        assert response.status_code == 400, (response.status_code, reply)
    elif verdict == "valid":
        assert response.status_code == 200 and reply["ticket"]["id"] == int(ticket_id), reply
        assert reply["user"] == {"id": caller, "role": role_for(caller)}
