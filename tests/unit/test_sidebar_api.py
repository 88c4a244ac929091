"""The sidebar: Zendesk vouches for the agent with its signed token, the service issues a session,
reads the role from Zendesk and stores intent for the worker. Nothing the browser says names anyone."""

import base64
import dataclasses
import json

import jwt
import pytest
import responses
from sqlalchemy import select

from app.store.secrets import SecretBox
from app.store.tables import IncidentRow, TaskRow
from app.web import create_app
from tests.zaf import ZendeskApp, open_sidebar, public_pem, rsa_key, session_of
from tests.faulty_zendesk import ECHO_MARK, echo_page

BASE = "https://acme.zendesk.com"
API = f"{BASE}/api/v2"
AGENT, ADMIN, CUSTOMER = 100003, 100002, 100050


@pytest.fixture
def zendesk_app():
    return ZendeskApp(BASE)


@pytest.fixture
def zendesk(zendesk_app):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for user_id, role in ((AGENT, "agent"), (ADMIN, "admin"), (CUSTOMER, "end-user")):
            mock.get(f"{API}/users/show_many.json", match=[responses.matchers.query_param_matcher({"ids": str(user_id)})],
                     json={"users": [{"id": user_id, "name": "x", "role": role}]})
        zendesk_app.mock(mock)
        yield mock


@pytest.fixture
def sidebar(config, sessions, clock, zendesk):
    return create_app(config, clock=clock).test_client()


def sign_in(sidebar, zendesk_app, clock, user_id=AGENT) -> str:
    """The agent opens a ticket: Zendesk POSTs its token, the page comes back with our session."""
    page = open_sidebar(sidebar, zendesk_app.token(user_id, clock.now().timestamp()))
    assert page.status_code == 200, page.data[:300]
    return session_of(page)


def call(client, method, path, session, **kwargs):
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    return client.open(path, method=method, headers=headers, **kwargs)


def tasks(sessions):
    with sessions() as session:
        return [(t.kind, t.ticket_id, t.user_id) for t in session.scalars(select(TaskRow))]


def incidents(sessions):
    with sessions() as session:
        return [(row.title, row.state) for row in session.scalars(select(IncidentRow))]


def users_calls(zendesk):
    return [c for c in zendesk.calls if "/users/" in c.request.url]


def test_zendesk_opens_the_sidebar_and_the_page_carries_a_session_for_that_agent(sidebar, zendesk_app, clock):
    page = open_sidebar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp()))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    assert b"/sidebar/assets/sidebar.js" in page.data and b"zaf_sdk.min.js" in page.data
    response = call(sidebar, "GET", "/api/state?ticket_id=42", session_of(page))
    assert response.status_code == 200
    assert response.get_json() == {"incident": None, "ticket": {"id": 42, "attached": False}, "suspected": None,
                                   "status_resolve": None, "agent_settings": None, "maintenance": [], "aftercare": None,
                                   "user": {"id": AGENT, "role": "agent"}, "default_language": "en"}


def test_the_sidebar_assets_are_served_beside_the_page(sidebar):
    with sidebar.get("/sidebar/assets/sidebar.js") as script:
        assert script.status_code == 200 and b"OutageDeskService.connect" in script.data
    with sidebar.get("/sidebar/assets/service.js") as script:
        assert script.status_code == 200 and b"outage-desk-session" in script.data
    assert sidebar.get("/sidebar/assets/../../config.py").status_code == 404


def hs256_with_public_key(zendesk_app, clock):
    """Key confusion: an HS256 token whose secret is the app's (public) PEM."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    import hashlib
    import hmac
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(zendesk_app.claims(ADMIN, clock.now().timestamp())).encode())
    signature = hmac.new(public_pem(zendesk_app.key).encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(signature.digest())}"


@pytest.mark.parametrize("make_token, reason", [
    (lambda app, now: None, "signed token"),
    (lambda app, now: "not.a.jwt", "not a JWT"),
    # The attack that worked: the app's HS256 proxy JWT, claims written by an agent's browser.
    (lambda app, now: jwt.encode({"sub": str(ADMIN), "account": "acme", "exp": int(now) + 60},
                                 "the-old-shared-secret-of-the-app-000000", algorithm="HS256"), "RS256"),
    (lambda app, now: jwt.encode(app.claims(ADMIN, now), None, algorithm="none"), "RS256"),
    (lambda app, now: app.token(ADMIN, now, key=rsa_key()), "does not match"),
    (lambda app, now: app.token(ADMIN, now, iss="evil.zendesk.com"), "another Zendesk account"),
    (lambda app, now: app.token(ADMIN, now, aud="https://evil.zendesk.com/api/v2/apps/installations/360000001.json"),
     "another Zendesk account"),
    (lambda app, now: app.token(ADMIN, now, exp=int(now) - 120), "expired"),
    (lambda app, now: app.token(ADMIN, now, iat=int(now) - 3600, exp=int(now) + 60), "too old"),
    (lambda app, now: app.token(ADMIN, now, sub="https://acme.zendesk.com/api/v2/organizations/7.json"),
     "not a Zendesk user"),
    (lambda app, now: app.token(ADMIN, now, sub=None), "MissingRequiredClaimError"),
])
def test_a_token_zendesk_did_not_sign_for_this_account_gets_401_and_no_session(sidebar, zendesk_app, clock, sessions,
                                                                              make_token, reason):
    page = open_sidebar(sidebar, make_token(zendesk_app, clock.now().timestamp()))
    assert page.status_code == 401
    assert reason in page.get_json()["error"]
    assert b"outage-desk-session" not in page.data


HUGE = 10 ** 400  # an int no float holds


@pytest.mark.parametrize("claim, value, status", [
    ("exp", HUGE, 200),  # its age is bounded by iat: a far expiry is Zendesk's business
    ("exp", -HUGE, 401),
    ("iat", HUGE, 401),
    ("nbf", HUGE, 401),
], ids=["far-exp", "past-exp", "future-iat", "future-nbf"])
def test_a_zendesk_token_with_a_time_too_large_for_a_float_is_judged_not_a_500(sidebar, zendesk_app, clock, claim,
                                                                               value, status):
    # Found by tests/fuzz: math.isfinite() raises OverflowError on such an int.
    page = open_sidebar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp(), **{claim: value}))
    assert page.status_code == status, page.data[:300]


@pytest.mark.parametrize("claim, value, status", [
    ("exp", HUGE, 401),  # longer than the service ever issues one
    ("exp", -HUGE, 401),
    ("auth_time", HUGE, 200),
    ("auth_time", -HUGE, 200),  # too old to renew, not to use until it expires
], ids=["far-exp", "past-exp", "future-auth-time", "past-auth-time"])
def test_a_session_with_a_time_too_large_for_a_float_is_judged_not_a_500(sidebar, config, clock, claim, value,
                                                                        status):
    # Found by tests/fuzz: math.isfinite() raises OverflowError on such an int.
    now = int(clock.now().timestamp())
    claims = {"iss": "acme.zendesk.com", "aud": "outage-desk/sidebar", "sub": str(AGENT), "ins": 360000001,
              "auth_time": now, "iat": now, "exp": now + 600, claim: value}
    session = jwt.encode(claims, SecretBox(config.outage_desk_secret_key).subkey("sidebar-session"), algorithm="HS256")
    assert call(sidebar, "GET", "/api/state?ticket_id=1", session).status_code == status
    if claim == "auth_time" and value < 0:
        assert call(sidebar, "POST", "/api/session", session).status_code == 401


def test_key_confusion_with_the_public_key_as_an_hs256_secret_is_refused(sidebar, zendesk_app, clock):
    page = open_sidebar(sidebar, hs256_with_public_key(zendesk_app, clock))
    assert page.status_code == 401 and "RS256" in page.get_json()["error"]


def test_an_agent_cannot_act_as_an_admin_whatever_the_browser_sends(sidebar, zendesk_app, clock, sessions):
    agent = sign_in(sidebar, zendesk_app, clock, AGENT)
    declared = call(sidebar, "POST", "/api/incidents", agent, json={"ticket_id": 1, "title": "API down", "query": "API"})
    incident_id = declared.get_json()["incident"]["id"]
    header, payload, signature = agent.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "sub": str(ADMIN)}).encode()).rstrip(b"=").decode()
    attempts = {
        "the agent's session with the admin's id": f"{header}.{forged_payload}.{signature}",
        "a session signed with another key": jwt.encode({**claims, "sub": str(ADMIN)}, "x" * 32, algorithm="HS256"),
        "Zendesk's own token instead of a session": zendesk_app.token(ADMIN, clock.now().timestamp()),
        "the agent's real session": agent,
    }
    answers = {name: call(sidebar, "POST", f"/api/incidents/{incident_id}/resolve", bearer).status_code
               for name, bearer in attempts.items()}
    assert answers == {"the agent's session with the admin's id": 401, "a session signed with another key": 401,
                       "Zendesk's own token instead of a session": 401, "the agent's real session": 403}
    assert incidents(sessions) == [("API down", "declared")] and tasks(sessions) == []


def test_a_customer_opening_the_page_gets_403_and_no_session(sidebar, zendesk_app, clock):
    page = open_sidebar(sidebar, zendesk_app.token(CUSTOMER, clock.now().timestamp()))
    assert page.status_code == 403 and b"outage-desk-session" not in page.data


def test_another_app_of_the_account_cannot_sign_in_with_its_tokens(sidebar, zendesk, clock):
    # Any app the account installs receives Zendesk's tokens (a vendor's, another team's private one):
    # replayed here, its key is not ours.
    other = ZendeskApp(BASE, app_id=5555, installation_id=360000009)
    other.mock(zendesk)
    page = open_sidebar(sidebar, other.token(ADMIN, clock.now().timestamp()))
    assert page.status_code == 401 and "does not match" in page.get_json()["error"]
    assert all("/apps/5555/" not in c.request.url for c in zendesk.calls)


def test_without_the_apps_id_the_sidebar_says_what_to_set_and_signs_nobody_in(config, sessions, clock, zendesk,
                                                                            zendesk_app):
    unpinned = create_app(dataclasses.replace(config, outage_desk_app_id=None), clock=clock)
    page = open_sidebar(unpinned.test_client(), zendesk_app.token(ADMIN, clock.now().timestamp()))
    assert page.status_code == 503 and "OUTAGE_DESK_APP_ID" in page.get_json()["error"]
    assert b"outage-desk-session" not in page.data


def test_while_zendesk_withholds_the_key_made_up_tokens_ask_it_once_a_minute(sidebar, zendesk_app, zendesk, clock):
    zendesk.replace(responses.GET, f"{API}/apps/{zendesk_app.app_id}/public_key.pem", status=503,
                    json={"error": "ServiceUnavailable"})
    answers = [open_sidebar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp(), key=rsa_key())).status_code
               for _ in range(30)]
    # One call, one attempt (no retries inside a request), then the failure is remembered for a minute.
    assert answers == [502] * 30 and len(zendesk.calls) == 1
    zendesk.replace(responses.GET, f"{API}/apps/{zendesk_app.app_id}/public_key.pem",
                    body=public_pem(zendesk_app.key))
    clock.advance(60)
    assert open_sidebar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp())).status_code == 200


def test_a_suspended_agent_loses_the_sidebar(sidebar, zendesk_app, zendesk, clock):
    session = sign_in(sidebar, zendesk_app, clock)
    zendesk.replace(responses.GET, f"{API}/users/show_many.json",
                    match=[responses.matchers.query_param_matcher({"ids": str(AGENT)})],
                    json={"users": [{"id": AGENT, "name": "x", "role": "agent", "suspended": True}]})
    clock.advance(301)  # the role read from Zendesk is kept five minutes
    assert call(sidebar, "GET", "/api/state?ticket_id=1", session).status_code == 403
    assert open_sidebar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp())).status_code == 403


def test_api_answers_are_never_cached(sidebar, zendesk_app, clock):
    session = sign_in(sidebar, zendesk_app, clock)
    for response in (call(sidebar, "GET", "/api/state?ticket_id=1", session),
                     call(sidebar, "POST", "/api/session", session), call(sidebar, "GET", "/api/state", None)):
        assert response.headers["Cache-Control"] == "no-store", response.status_code


def test_the_session_expires_and_renews_only_within_twelve_hours_of_zendesks_word(sidebar, zendesk_app, clock):
    session = sign_in(sidebar, zendesk_app, clock)
    for _ in range(3):  # an agent with the ticket open all morning
        clock.advance(540)
        renewed = call(sidebar, "POST", "/api/session", session)
        assert renewed.status_code == 200 and renewed.get_json()["expires_in"] == 600
        session = renewed.get_json()["token"]
    clock.advance(660)
    assert call(sidebar, "GET", "/api/state?ticket_id=1", session).status_code == 401
    session = sign_in(sidebar, zendesk_app, clock)
    for _ in range(100):
        clock.advance(540)
        renewed = call(sidebar, "POST", "/api/session", session)
        if renewed.status_code != 200:
            break
        session = renewed.get_json()["token"]
    assert renewed.status_code == 401 and "reload the ticket" in renewed.get_json()["error"]


def test_a_rotated_app_key_is_fetched_again(sidebar, zendesk_app, zendesk, clock):
    sign_in(sidebar, zendesk_app, clock)
    zendesk_app.key = rsa_key()
    zendesk.replace(responses.GET, f"{API}/apps/{zendesk_app.app_id}/public_key.pem", body=public_pem(zendesk_app.key))
    clock.advance(61)
    sign_in(sidebar, zendesk_app, clock)


def test_declaring_from_a_ticket_stores_the_incident_and_answers_at_once(sidebar, zendesk_app, clock, sessions,
                                                                        zendesk):
    session = sign_in(sidebar, zendesk_app, clock)
    zendesk.calls.reset()
    response = call(sidebar, "POST", "/api/incidents", session,
                    json={"ticket_id": 42, "title": "API down", "query": "API", "severity": 1})
    assert response.status_code == 202
    incident = response.get_json()["incident"]
    assert (incident["title"], incident["state"], incident["tickets"]) == ("API down", "declared", 0)
    with sessions() as session:
        row = session.scalars(select(IncidentRow)).one()
    assert (row.origin_ticket_id, row.severity, row.backfilled_at) == (42, 1, None)
    # Nothing reached Zendesk: the role is cached, the problem ticket and backfill are the worker's.
    assert len(zendesk.calls) == 0


def test_bad_input_is_400_with_a_reason(sidebar, zendesk_app, clock):
    session = sign_in(sidebar, zendesk_app, clock)
    response = call(sidebar, "POST", "/api/incidents", session, json={"ticket_id": "x", "title": "t", "query": "q"})
    assert response.status_code == 400 and "ticket_id" in response.get_json()["error"]
    response = call(sidebar, "POST", "/api/incidents", session, json={"ticket_id": 1, "title": "t", "query": "q",
                                                                     "severity": 9})
    assert response.status_code == 400 and "severity" in response.get_json()["error"]
    response = call(sidebar, "POST", "/api/incidents", session, data="not json", content_type="application/json")
    assert response.status_code == 400


def test_deeply_nested_json_is_400_not_500(sidebar, zendesk_app, clock, sessions):
    session = sign_in(sidebar, zendesk_app, clock)
    response = call(sidebar, "POST", "/api/incidents", session, data="[" * 20_000 + "]" * 20_000,
                    content_type="application/json")
    assert response.status_code == 400 and "nests too deeply" in response.get_json()["error"]
    assert incidents(sessions) == []


@pytest.mark.parametrize("body, reason", [
    ('{"ticket_id": 1, "title": "t", "query": "q", "severity": 1' + "0" * 5000 + "}", "number too long"),
    ('{"ticket_id": 1, "title": "API \\ud800", "query": "q"}', "lone surrogate"),
])
def test_json_python_cannot_read_or_store_is_400_not_500(sidebar, zendesk_app, clock, sessions, body, reason):
    session = sign_in(sidebar, zendesk_app, clock)
    response = call(sidebar, "POST", "/api/incidents", session, data=body, content_type="application/json")
    assert response.status_code == 400 and reason in response.get_json()["error"]
    assert incidents(sessions) == []


def test_attach_and_detach_are_queued_for_the_worker(sidebar, zendesk_app, clock, sessions):
    session = sign_in(sidebar, zendesk_app, clock)
    incident = call(sidebar, "POST", "/api/incidents", session, json={"ticket_id": 1, "title": "API down",
                                                                     "query": "API"}).get_json()["incident"]
    attach = call(sidebar, "POST", f"/api/incidents/{incident['id']}/tickets", session, json={"ticket_id": 42})
    detach = call(sidebar, "DELETE", f"/api/incidents/{incident['id']}/tickets/43", session)
    assert (attach.status_code, detach.status_code) == (202, 200)
    assert tasks(sessions) == [("attach", 42, AGENT), ("detach", 43, AGENT)]


def test_only_admins_resolve(sidebar, zendesk_app, clock, sessions):
    agent, admin = sign_in(sidebar, zendesk_app, clock, AGENT), sign_in(sidebar, zendesk_app, clock, ADMIN)
    incident = call(sidebar, "POST", "/api/incidents", agent, json={"ticket_id": 1, "title": "API down",
                                                                   "query": "API"}).get_json()["incident"]
    refused = call(sidebar, "POST", f"/api/incidents/{incident['id']}/resolve", agent)
    assert refused.status_code == 403 and tasks(sessions) == []
    accepted = call(sidebar, "POST", f"/api/incidents/{incident['id']}/resolve", admin)
    # The incident is resolving: that is the worker's task, recorded in the same write.
    assert accepted.status_code == 202 and accepted.get_json()["incident"]["state"] == "resolving"
    assert accepted.get_json()["incident"]["notifications"]["pending"] == 0


def test_roles_and_keys_are_cached_so_zendesk_is_asked_once(sidebar, zendesk_app, clock, zendesk):
    session = sign_in(sidebar, zendesk_app, clock)
    sign_in(sidebar, zendesk_app, clock)
    for _ in range(3):
        call(sidebar, "GET", "/api/state?ticket_id=42", session)
    assert len(users_calls(zendesk)) == 1 and len(zendesk.calls) == 2  # the role, the app's key


@pytest.mark.parametrize("status", [400, 500])
def test_a_zendesk_error_page_echoing_the_credentials_is_named_in_the_502_not_quoted(sidebar, zendesk_app, clock,
                                                                                    config, zendesk, status):
    stranger = 100077
    zendesk.add_callback(
        responses.GET, f"{API}/users/show_many.json",
        match=[responses.matchers.query_param_matcher({"ids": str(stranger)})],
        callback=lambda request: (status, {}, echo_page(request.headers["Authorization"])))

    response = open_sidebar(sidebar, zendesk_app.token(stranger, clock.now().timestamp()))

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error.startswith(f"Zendesk answered {status} to GET /api/v2/users/show_many.json"), error
    login = f"{config.zendesk_email}/token"
    basic = base64.b64encode(f"{login}:{config.zendesk_api_token}".encode()).decode()
    for secret in (config.zendesk_api_token, basic, login, "Basic", ECHO_MARK):
        assert secret not in response.get_data(as_text=True)


def open_nav_bar(client, token: str):
    """Zendesk POSTs the same signed token to the nav bar's page when the agent clicks the app's icon."""
    return client.post("/incidents?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g-2", data={"token": token})


def test_the_nav_bar_page_opens_as_the_sidebar_does_and_lists_the_incidents(sidebar, zendesk_app, clock):
    page = open_nav_bar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp()))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert b"/sidebar/assets/incidents.js" in page.data and b"zaf_sdk.min.js" in page.data
    listed = call(sidebar, "GET", "/api/incidents", session_of(page))
    assert listed.get_json() == {"incidents": [], "user": {"id": AGENT, "role": "agent"}, "default_language": "en"}
    forged = open_nav_bar(sidebar, zendesk_app.token(AGENT, clock.now().timestamp(), key=rsa_key()))
    assert forged.status_code == 401 and b"outage-desk-session" not in forged.data
    customer = open_nav_bar(sidebar, zendesk_app.token(CUSTOMER, clock.now().timestamp()))
    assert customer.status_code == 403 and b"outage-desk-session" not in customer.data


def test_the_report_of_an_unknown_incident_or_in_an_unknown_format_is_refused(sidebar, zendesk_app, clock):
    session = sign_in(sidebar, zendesk_app, clock)
    assert call(sidebar, "GET", "/api/incidents/999/report", session).status_code == 404
    assert call(sidebar, "GET", "/api/incidents/999/report?format=pdf", session).status_code == 400
