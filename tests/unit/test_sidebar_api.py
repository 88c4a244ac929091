"""The sidebar's API: signed by Zendesk's proxy, role checked against Zendesk, intent stored for the worker."""

import base64
import time

import jwt
import pytest
import responses
from sqlalchemy import select

from app.store.tables import IncidentRow, TaskRow
from app.web import create_app
from tests.faulty_zendesk import ECHO_MARK, echo_page

SHARED_SECRET = "zaf-shared-secret-for-the-sidebar-tests"
API = "https://acme.zendesk.com/api/v2"
AGENT, ADMIN, CUSTOMER = 100003, 100002, 100050


@pytest.fixture
def sidebar(config, sessions, clock):
    app = create_app(config.with_overrides(zaf_shared_secret=SHARED_SECRET), clock=clock)
    return app.test_client()


@pytest.fixture(autouse=True)
def zendesk_users():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for user_id, role in ((AGENT, "agent"), (ADMIN, "admin"), (CUSTOMER, "end-user")):
            mock.get(f"{API}/users/show_many.json", match=[responses.matchers.query_param_matcher({"ids": str(user_id)})],
                     json={"users": [{"id": user_id, "name": "x", "role": role}]})
        yield mock


def token(clock, user_id=AGENT, secret=SHARED_SECRET, account="acme", exp_in=60, algorithm="HS256", **extra):
    claims = {"sub": str(user_id), "account": account, "exp": int(clock.now().timestamp()) + exp_in, **extra}
    return jwt.encode(claims, secret, algorithm=algorithm)


def call(client, method, path, bearer, **kwargs):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return client.open(path, method=method, headers=headers, **kwargs)


def tasks(sessions):
    with sessions() as session:
        return [(t.kind, t.ticket_id, t.user_id) for t in session.scalars(select(TaskRow))]


def test_an_agent_sees_no_incident_yet(sidebar, clock):
    response = call(sidebar, "GET", "/api/state?ticket_id=42", token(clock))
    assert response.status_code == 200
    assert response.get_json() == {"incident": None, "ticket": {"id": 42, "attached": False},
                                   "user": {"id": AGENT, "role": "agent"}}


@pytest.mark.parametrize("make_bearer, reason", [
    (lambda clock: None, "missing bearer token"),
    (lambda clock: token(clock, secret="not-the-secret-but-just-as-long-as-it"), "InvalidSignatureError"),
    (lambda clock: token(clock, exp_in=-120), "expired token"),
    (lambda clock: token(clock, exp_in=3600), "lives too long"),
    (lambda clock: token(clock, account="someone-else"), "another Zendesk account"),
    (lambda clock: jwt.encode({"sub": str(AGENT), "exp": int(time.time()) + 60}, None, algorithm="none"),
     "InvalidAlgorithmError"),
])
def test_unsigned_forged_expired_or_foreign_calls_get_401_and_change_nothing(sidebar, clock, sessions, make_bearer,
                                                                             reason):
    response = call(sidebar, "POST", "/api/incidents", make_bearer(clock),
                    json={"ticket_id": 42, "title": "API down", "query": "API"})
    assert response.status_code == 401
    assert reason in response.get_json()["error"]
    with sessions() as session:
        assert session.scalars(select(IncidentRow)).all() == []


def test_a_customer_token_is_403_whatever_the_browser_claims(sidebar, clock, sessions):
    response = call(sidebar, "POST", "/api/incidents", token(clock, user_id=CUSTOMER, role="admin"),
                    json={"ticket_id": 42, "title": "API down", "query": "API"})
    assert response.status_code == 403
    with sessions() as session:
        assert session.scalars(select(IncidentRow)).all() == []


def test_declaring_from_a_ticket_stores_the_incident_and_answers_at_once(sidebar, clock, sessions, zendesk_users):
    response = call(sidebar, "POST", "/api/incidents", token(clock),
                    json={"ticket_id": 42, "title": "API down", "query": "API", "severity": 1})
    assert response.status_code == 202
    incident = response.get_json()["incident"]
    assert (incident["title"], incident["state"], incident["tickets"]) == ("API down", "declared", 0)
    with sessions() as session:
        row = session.scalars(select(IncidentRow)).one()
    assert (row.origin_ticket_id, row.severity, row.backfilled_at) == (42, 1, None)
    # Only the role lookup reached Zendesk; the problem ticket and backfill are the worker's.
    assert [c.request.method for c in zendesk_users.calls] == ["GET"]


def test_bad_input_is_400_with_a_reason(sidebar, clock):
    response = call(sidebar, "POST", "/api/incidents", token(clock), json={"ticket_id": "x", "title": "t", "query": "q"})
    assert response.status_code == 400 and "ticket_id" in response.get_json()["error"]
    response = call(sidebar, "POST", "/api/incidents", token(clock), json={"ticket_id": 1, "title": "t", "query": "q",
                                                                          "severity": 9})
    assert response.status_code == 400 and "severity" in response.get_json()["error"]
    response = call(sidebar, "POST", "/api/incidents", token(clock), data="not json", content_type="application/json")
    assert response.status_code == 400


def test_attach_and_detach_are_queued_for_the_worker(sidebar, clock, sessions):
    incident = call(sidebar, "POST", "/api/incidents", token(clock), json={"ticket_id": 1, "title": "API down",
                                                                          "query": "API"}).get_json()["incident"]
    attach = call(sidebar, "POST", f"/api/incidents/{incident['id']}/tickets", token(clock), json={"ticket_id": 42})
    detach = call(sidebar, "DELETE", f"/api/incidents/{incident['id']}/tickets/43", token(clock))
    assert (attach.status_code, detach.status_code) == (202, 200)
    assert tasks(sessions) == [("attach", 42, AGENT), ("detach", 43, AGENT)]


def test_only_admins_resolve(sidebar, clock, sessions):
    incident = call(sidebar, "POST", "/api/incidents", token(clock), json={"ticket_id": 1, "title": "API down",
                                                                          "query": "API"}).get_json()["incident"]
    refused = call(sidebar, "POST", f"/api/incidents/{incident['id']}/resolve", token(clock, user_id=AGENT))
    assert refused.status_code == 403 and tasks(sessions) == []
    accepted = call(sidebar, "POST", f"/api/incidents/{incident['id']}/resolve", token(clock, user_id=ADMIN))
    # The incident is resolving: that is the worker's task, recorded in the same write.
    assert accepted.status_code == 202 and accepted.get_json()["incident"]["state"] == "resolving"
    assert accepted.get_json()["incident"]["notifications"]["pending"] == 0


def test_roles_are_cached_so_zendesk_is_asked_once(sidebar, clock, zendesk_users):
    for _ in range(3):
        call(sidebar, "GET", "/api/state?ticket_id=42", token(clock))
    assert len(zendesk_users.calls) == 1


@pytest.mark.parametrize("status", [400, 500])
def test_a_zendesk_error_page_echoing_the_credentials_is_named_in_the_502_not_quoted(sidebar, clock, config,
                                                                                    zendesk_users, status):
    stranger = 100077
    zendesk_users.add_callback(
        responses.GET, f"{API}/users/show_many.json",
        match=[responses.matchers.query_param_matcher({"ids": str(stranger)})],
        callback=lambda request: (status, {}, echo_page(request.headers["Authorization"])))

    response = call(sidebar, "GET", "/api/state?ticket_id=42", token(clock, user_id=stranger))

    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error.startswith(f"Zendesk answered {status} to GET /api/v2/users/show_many.json"), error
    login = f"{config.zendesk_email}/token"
    basic = base64.b64encode(f"{login}:{config.zendesk_api_token}".encode()).decode()
    for secret in (config.zendesk_api_token, basic, login, "Basic", ECHO_MARK):
        assert secret not in response.get_data(as_text=True)
