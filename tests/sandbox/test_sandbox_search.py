"""Search, search count, search export and incremental export: limits, paging and indexing lag."""

from __future__ import annotations

import time
from datetime import timedelta

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.search_match import Matcher
from zendesk_sandbox.search_query import parse_query

from .support import T0, path_of


def expected_ids(api, query: str) -> set[int]:
    matcher = Matcher(parse_query(query), api.state, me_id=1, now=T0)
    return {t["id"] for t in api.state.tickets.values() if matcher.matches(t)}


def test_search_pages_carry_results_count_and_links(seeded):
    api, _ = seeded
    first = api.get("/api/v2/search.json?query=API&per_page=50").json
    total = len(expected_ids(api, "API"))
    assert first["count"] == total
    assert len(first["results"]) == 50
    assert all(result["result_type"] == "ticket" for result in first["results"])
    assert first["previous_page"] is None
    second = api.get(path_of(first["next_page"])).json
    assert second["previous_page"] and len(second["results"]) == 50
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_search_never_returns_more_than_1000_results(make_api):
    api = make_api()
    seed_outage(api.state, tickets=1300, seed=3, start=T0 - timedelta(hours=3), end=T0 - timedelta(hours=1))
    last = api.get("/api/v2/search?query=API&page=10&per_page=100").json
    assert last["count"] > 1000
    assert last["next_page"] is not None  # Zendesk links on; following it fails
    beyond = api.get("/api/v2/search?query=API&page=11&per_page=100")
    assert beyond.status_code == 422
    assert beyond.json == {
        "error": "invalid",
        "description": "Invalid search: Requested response size was greater than Search Response Limits",
    }


def test_search_per_page_is_capped_at_100(seeded):
    api, _ = seeded
    assert len(api.get("/api/v2/search?query=API&per_page=500").json["results"]) == 100


def test_search_sideloads_users_and_counts(seeded):
    api, _ = seeded
    body = api.get("/api/v2/search?query=API%20via:phone&include=tickets(users)").json
    requester_ids = {r["requester_id"] for r in body["results"]}
    assert requester_ids <= {u["id"] for u in body["users"]}
    assert api.get("/api/v2/search/count.json?query=API%20via:phone").json == {"count": body["count"]}


def test_search_rejects_unsupported_queries(api):
    response = api.get("/api/v2/search?query=group:support")
    assert response.status_code == 400
    assert "group" in response.json["description"]


def test_new_tickets_are_not_searchable_during_the_index_delay(make_api, clock):
    api = make_api(index_delay=120)
    ticket = api.customer_ticket()
    assert api.get("/api/v2/search/count?query=API").json["count"] == 0
    assert api.get("/api/v2/search/export?query=API&filter[type]=ticket").json["results"] == []
    assert api.get(f"/api/v2/tickets/{ticket['id']}").status_code == 200
    clock.advance(120)
    assert api.get("/api/v2/search/count?query=API").json["count"] == 1


def test_search_lags_ten_seconds_by_default(api, clock):
    api.customer_ticket()
    clock.advance(9)
    assert api.get("/api/v2/search/count?query=API").json["count"] == 0
    clock.advance(1)
    assert api.get("/api/v2/search/count?query=API").json["count"] == 1


def test_an_update_shows_in_search_only_after_the_lag_and_results_show_the_indexed_ticket(make_api, clock):
    api = make_api(index_delay=60)
    ticket = api.customer_ticket(tags=["before"])
    clock.advance(60)
    api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"tags": ["after"], "priority": "high"}})
    assert api.get("/api/v2/search/count?query=tags:after").json["count"] == 0
    stale = api.get("/api/v2/search?query=tags:before").json["results"]
    assert [(t["id"], t["tags"], t["priority"]) for t in stale] == [(ticket["id"], ["before"], None)]
    exported = api.get("/api/v2/search/export?query=tags:before&filter[type]=ticket").json["results"]
    assert [t["tags"] for t in exported] == [["before"]]
    clock.advance(60)
    assert api.get("/api/v2/search/count?query=tags:before").json["count"] == 0
    assert api.get("/api/v2/search?query=tags:after").json["results"][0]["priority"] == "high"


def test_seeded_tickets_written_in_the_past_are_already_indexed(seeded):
    api, summary = seeded
    assert api.sandbox.index_delay == 10
    assert api.get("/api/v2/search/count?query=type:ticket").json["count"] == summary.tickets


def test_export_pages_through_every_match_once_in_created_order(seeded):
    api, _ = seeded
    url = "/api/v2/search/export.json?query=API%20status<solved&filter[type]=ticket&page[size]=40&include=users"
    seen: list[dict] = []
    while url:
        body = api.get(url).json
        assert set(body) == {"results", "facets", "meta", "links", "users"}
        assert body["meta"]["before_cursor"] is None and body["links"]["prev"] is None
        assert "count" not in body
        seen += body["results"]
        assert {r["requester_id"] for r in body["results"]} <= {u["id"] for u in body["users"]}
        url = path_of(body["links"]["next"]) if body["meta"]["has_more"] else None
    assert [r["id"] for r in seen] == [t["id"] for t in sorted(seen, key=lambda t: (t["created_at"], t["id"]))]
    assert {r["id"] for r in seen} == expected_ids(api, "API status<solved")


def test_export_requires_filter_type_and_rejects_type_in_query(api):
    assert api.get("/api/v2/search/export?query=API").status_code == 400
    response = api.get("/api/v2/search/export?query=API%20type:ticket&filter[type]=ticket")
    assert response.status_code == 400 and response.json["error"] == "InvalidParameter"


def test_export_page_size_is_at_most_1000(api):
    assert api.get("/api/v2/search/export?query=API&filter[type]=ticket&page[size]=1000").status_code == 200
    assert api.get("/api/v2/search/export?query=API&filter[type]=ticket&page[size]=1001").status_code == 400


def test_export_cursor_expires_after_an_hour(seeded, clock):
    api, _ = seeded
    body = api.get("/api/v2/search/export?query=API&filter[type]=ticket&page[size]=10").json
    cursor = body["meta"]["after_cursor"]
    clock.advance(3601)
    expired = api.get(f"/api/v2/search/export?query=API&filter[type]=ticket&page[size]=10&page[after]={cursor}")
    assert expired.status_code == 400
    assert api.get("/api/v2/search/export?query=API&filter[type]=ticket&page[after]=garbage").status_code == 400


def test_export_of_10000_tickets_is_fast(make_api):
    state = SandboxState()
    started = time.perf_counter()
    seed_outage(state, tickets=10_000, seed=11, start=T0 - timedelta(hours=6), end=T0 - timedelta(minutes=1))
    seeded_in = time.perf_counter() - started
    api = make_api(state, rate_limit_per_minute=100_000)
    started = time.perf_counter()
    url, found = "/api/v2/search/export?query=API&filter[type]=ticket&page[size]=100", 0
    while url:
        body = api.get(url).json
        found += len(body["results"])
        url = path_of(body["links"]["next"]) if body["links"]["next"] else None
    exported_in = time.perf_counter() - started
    assert found == len(expected_ids(api, "API")) > 8000
    assert seeded_in < 8 and exported_in < 8


def test_incremental_export_follows_updates_and_skips_the_last_minute(make_api, clock):
    api = make_api()
    start = int(clock.now().timestamp())
    old = api.customer_ticket()
    clock.advance(61)
    fresh = api.customer_ticket()
    body = api.get(f"/api/v2/incremental/tickets/cursor.json?start_time={start}&include=users").json
    assert [t["id"] for t in body["tickets"]] == [old["id"]]
    assert body["end_of_stream"] is True and body["after_cursor"] and body["after_url"]
    assert body["before_cursor"] is None and body["before_url"] is None
    assert body["users"][0]["id"] == old["requester_id"]
    clock.advance(61)
    resumed = api.get(path_of(body["after_url"])).json
    assert [t["id"] for t in resumed["tickets"]] == [fresh["id"]]


def test_incremental_export_pages_by_per_page(make_api, clock):
    api = make_api()
    start = int(clock.now().timestamp())
    ids = [api.customer_ticket()["id"] for _ in range(5)]
    clock.advance(120)
    first = api.get(f"/api/v2/incremental/tickets/cursor?start_time={start}&per_page=3").json
    assert [t["id"] for t in first["tickets"]] == ids[:3] and first["end_of_stream"] is False
    second = api.get(f"/api/v2/incremental/tickets/cursor?cursor={first['after_cursor']}&per_page=3").json
    assert [t["id"] for t in second["tickets"]] == ids[3:] and second["end_of_stream"] is True


def test_incremental_export_start_time_must_be_a_minute_old(api, clock):
    now = int(clock.now().timestamp())
    assert api.get(f"/api/v2/incremental/tickets/cursor?start_time={now - 30}").status_code == 400
    assert api.get("/api/v2/incremental/tickets/cursor").status_code == 400
    assert api.get(f"/api/v2/incremental/tickets/cursor?start_time={now - 60}").status_code == 200
