"""Authentication, the sliding-window rate limits, their headers, and the call log."""

from __future__ import annotations

import base64

from zendesk_sandbox.state import API_USER_ID, SandboxState

from .support import API_TOKEN, Api


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_requests_without_valid_credentials_get_401(api):
    client = api.client
    assert client.get("/api/v2/users/me").status_code == 401
    assert client.get("/api/v2/users/me", headers=basic("outage-desk@example.com/token", "wrong")).json == {
        "error": "Couldn't authenticate you"
    }
    assert client.get("/api/v2/users/me", headers=basic("outage-desk@example.com", API_TOKEN)).status_code == 401
    assert client.get("/api/v2/users/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_bearer_token_and_agent_emails_authenticate(api, agents):
    me = api.client.get("/api/v2/users/me", headers={"Authorization": f"Bearer {API_TOKEN}"}).json["user"]
    assert me["id"] == API_USER_ID and me["role"] == "admin" and me["name"] == "Outage Desk API"
    as_agent = api.client.get("/api/v2/users/me", headers=basic("julien@example.com/token", API_TOKEN)).json["user"]
    assert as_agent["id"] == agents["agent"]["id"]
    assert api.client.get("/api/v2/users/me", headers=basic("ana@example.com/token", API_TOKEN)).status_code == 401


def test_every_response_carries_rate_limit_headers(make_api):
    api = make_api(rate_limit_per_minute=200)
    first = api.get("/api/v2/users/me")
    assert first.headers["X-Rate-Limit"] == "200" and first.headers["X-Rate-Limit-Remaining"] == "199"
    assert first.headers["ratelimit-limit"] == "200" and first.headers["ratelimit-remaining"] == "199"
    assert first.headers["ratelimit-reset"] == "60"
    missing = api.get("/api/v2/tickets/1")
    assert missing.status_code == 404 and missing.headers["X-Rate-Limit-Remaining"] == "198"


def test_over_the_limit_is_429_with_retry_after_until_a_slot_frees(make_api, clock):
    api = make_api(rate_limit_per_minute=3)
    for _ in range(3):
        assert api.get("/api/v2/users/me").status_code == 200
        clock.advance(10)
    limited = api.get("/api/v2/users/me")
    assert limited.status_code == 429
    assert limited.json == {
        "error": "APIRateLimitExceeded",
        "description": "Number of allowed API requests per minute exceeded",
    }
    assert limited.headers["Retry-After"] == "30"
    assert limited.headers["X-Rate-Limit-Remaining"] == "0"
    clock.advance(30)
    assert api.get("/api/v2/users/me").status_code == 200


def test_sandbox_helpers_do_not_count(make_api):
    api = make_api(rate_limit_per_minute=1)
    for _ in range(5):
        assert api.client.get("/_sandbox/stats").status_code == 200
    assert api.get("/api/v2/users/me").status_code == 200


def test_rate_limited_calls_are_logged_and_flagged(make_api):
    api = make_api(rate_limit_per_minute=1)
    api.get("/api/v2/users/me")
    api.get("/api/v2/users/me")
    stats = api.client.get("/_sandbox/stats").json
    assert stats == {"api_calls": 2, "by_endpoint": {"GET /api/v2/users/me": 2}, "rate_limited": 1, "faults": {}, "emails": 0}
    assert api.client.post("/_sandbox/stats/reset").json["api_calls"] == 0


def test_search_export_has_its_own_100_per_minute(make_api, clock):
    api = make_api()
    api.customer_ticket()
    url = "/api/v2/search/export.json?query=API&filter[type]=ticket"
    for _ in range(100):
        assert api.get(url).status_code == 200
    limited = api.get(url)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert api.get("/api/v2/users/me").status_code == 200
    clock.advance(60)
    assert api.get(url).status_code == 200


def test_incremental_export_has_its_own_10_per_minute(make_api, clock):
    api = make_api()
    url = f"/api/v2/incremental/tickets/cursor.json?start_time={int(clock.now().timestamp()) - 3600}"
    assert [api.get(url).status_code for _ in range(11)] == [200] * 10 + [429]


def test_single_ticket_updates_are_limited_per_ticket(make_api, clock):
    api = make_api()
    ticket = api.customer_ticket()
    for index in range(30):
        assert api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"tags": [f"t{index}"]}}).status_code == 200
    limited = api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"tags": ["late"]}})
    assert limited.status_code == 429
    assert "Zendesk-RateLimit-tickets-update" in limited.headers
    other = api.customer_ticket()
    assert api.put(f"/api/v2/tickets/{other['id']}", json={"ticket": {"tags": ["x"]}}).status_code == 200
    clock.advance(600)
    assert api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"tags": ["later"]}}).status_code == 200


def test_calls_are_logged_by_route(api):
    ticket = api.customer_ticket()
    api.get(f"/api/v2/tickets/{ticket['id']}.json")
    api.get(f"/api/v2/tickets/{ticket['id']}")
    assert api.client.get("/_sandbox/stats").json["by_endpoint"] == {"GET /api/v2/tickets/{ticket_id}": 2}


def test_api_email_is_set_on_a_given_state(make_api):
    state = SandboxState(api_email="someone-else@example.com")
    api: Api = make_api(state)
    assert api.get("/api/v2/users/me").json["user"]["email"] == "outage-desk@example.com"
