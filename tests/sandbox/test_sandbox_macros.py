"""Macros API: listing, search, and the two apply endpoints that never change the ticket."""

from __future__ import annotations

from .support import path_of


def test_macros_list_with_cursor_pages(seeded):
    api, summary = seeded
    first = api.get("/api/v2/macros.json?page[size]=5").json
    assert len(first["macros"]) == 5 and first["meta"]["has_more"] is True
    titles = [m["title"] for m in first["macros"]]
    while first["meta"]["has_more"]:
        first = api.get(path_of(first["links"]["next"])).json
        titles += [m["title"] for m in first["macros"]]
    assert sorted(titles) == sorted(summary.macro_ids)


def test_macros_offset_pages_active_filter_and_search(seeded):
    api, summary = seeded
    listing = api.get("/api/v2/macros").json
    assert listing["count"] == len(summary.macro_ids) and listing["next_page"] is None
    active = api.get("/api/v2/macros/active.json").json["macros"]
    assert "[Old] Outage closing (fr)" not in [m["title"] for m in active]
    found = api.get("/api/v2/macros/search.json?query=outage desk CLOSING").json["macros"]
    assert sorted(m["title"] for m in found) == sorted(
        f"Outage Desk closing ({language})" for language in ("en", "fr", "es", "ru", "de", "pt-BR")
    )


def test_macro_show_has_actions(seeded):
    api, summary = seeded
    macro = api.get(f"/api/v2/macros/{summary.macro_ids['Outage Desk closing (ru)']}").json["macro"]
    fields = {action["field"]: action["value"] for action in macro["actions"]}
    # As macros/closing-ru.json defines it, which `setup` writes to real accounts.
    assert fields["status"] == "solved" and fields["comment_mode_is_public"] == "true"
    assert fields["comment_value"].startswith("Здравствуйте, {{ticket.requester.first_name}}")
    assert macro["active"] is True


def test_apply_shows_changes_with_placeholders_unrendered(seeded):
    api, summary = seeded
    result = api.get(f"/api/v2/macros/{summary.macro_ids['Outage Desk closing (fr)']}/apply.json").json["result"]
    ticket = result["ticket"]
    assert ticket["status"] == "solved"
    assert ticket["comment"]["public"] is True
    assert ticket["comment"]["body"].startswith("Bonjour {{ticket.requester.first_name}},")
    assert ticket["comment"]["scoped_body"] == [["channel:all", ticket["comment"]["body"]]]


def test_apply_to_ticket_shows_the_whole_ticket_rendered_without_changing_it(api, agents):
    macro = api.state.add_macro(
        "Close (en)",
        [
            {"field": "comment_value", "value": "Hello {{ticket.requester.first_name}}, fixed."},
            {"field": "status", "value": "solved"},
            {"field": "current_tags", "value": "outage_closed"},
        ],
        created_at="2026-01-01T00:00:00Z",
    )
    ticket = api.customer_ticket(assignee_id=agents["agent"]["id"], tags=["vip"])
    after = api.get(f"/api/v2/tickets/{ticket['id']}/macros/{macro['id']}/apply.json").json["result"]["ticket"]
    assert after["id"] == ticket["id"] and after["status"] == "solved"
    assert after["tags"] == ["vip", "outage_closed"]
    assert after["comment"]["body"] == "Hello Ana, fixed."
    stored = api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]
    assert stored["status"] == "open" and stored["tags"] == ["vip"]
    assert len(api.state.comments_for(ticket["id"])) == 1 and api.state.emails == []


def test_unknown_macro_is_404(api):
    assert api.get("/api/v2/macros/1").status_code == 404
