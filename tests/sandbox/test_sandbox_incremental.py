"""The time-based incremental ticket export: pages by start_time, the last minute left out, end_of_stream."""

from __future__ import annotations

from .support import path_of


def test_time_based_export_pages_on_end_time_and_never_splits_a_second(make_api, clock):
    api = make_api()
    start = int(clock.now().timestamp())
    same_second = [api.customer_ticket()["id"] for _ in range(2)]
    clock.advance(5)
    later = api.customer_ticket()["id"]
    clock.advance(61)
    api.customer_ticket()  # changed within the last minute: not exported yet
    first = api.get(f"/api/v2/incremental/tickets.json?start_time={start}&per_page=1").json
    assert [t["id"] for t in first["tickets"]] == same_second and first["count"] == 2
    assert first["end_time"] == start + 1 and first["end_of_stream"] is False
    second = api.get(path_of(first["next_page"])).json
    assert [t["id"] for t in second["tickets"]] == [later] and second["end_of_stream"] is True
    assert api.get(path_of(second["next_page"])).json["tickets"] == []


def test_time_based_export_needs_a_start_time_a_minute_old(api, clock):
    now = int(clock.now().timestamp())
    assert api.get(f"/api/v2/incremental/tickets?start_time={now - 30}").status_code == 400
    assert api.get("/api/v2/incremental/tickets").status_code == 400
    assert api.get(f"/api/v2/incremental/tickets?start_time={now - 60}").json["end_of_stream"] is True
