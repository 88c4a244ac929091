"""Macros saved in Zendesk's rich-text editor (comment_value_html) and comments sent as html_body."""

from __future__ import annotations

from datetime import timedelta

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.state import SandboxState

from .support import OUTAGE_DESK_MACROS, T0, create

RICH = "<p>Hello {{ticket.requester.first_name}},</p><p>It&#39;s fixed &amp; working.<br>Kind regards</p>"


def rich_macro(api) -> dict:
    actions = [
        {"field": "comment_value_html", "value": RICH},
        {"field": "comment_mode_is_public", "value": "false"},
        {"field": "status", "value": "pending"},
    ]
    response = api.post("/api/v2/macros", json={"macro": {"title": "Rich", "actions": actions}})
    assert response.status_code == 201, response.json
    return response.json["macro"]


def test_a_rich_text_macro_is_stored_and_shown_as_saved(api):
    macro = rich_macro(api)
    shown = api.get(f"/api/v2/macros/{macro['id']}").json["macro"]
    assert shown["actions"][0] == {"field": "comment_value_html", "value": RICH}
    assert not any(action["field"] == "comment_value" for action in shown["actions"])


def test_apply_gives_the_html_and_its_plain_text(api):
    macro = rich_macro(api)
    result = api.get(f"/api/v2/macros/{macro['id']}/apply").json["result"]["ticket"]
    text = "Hello {{ticket.requester.first_name}},\n\nIt's fixed & working.\nKind regards"
    assert result["status"] == "pending"
    assert result["comment"]["html_body"] == RICH
    assert result["comment"]["body"] == text and result["comment"]["public"] is False
    assert result["comment"]["scoped_body"] == [["channel:all", text]]


def test_apply_to_a_ticket_renders_placeholders_in_both_forms(api, agents):
    macro = rich_macro(api)
    ticket = create(api, requester_id=agents["customer"]["id"])
    comment = api.get(f"/api/v2/tickets/{ticket['id']}/macros/{macro['id']}/apply").json["result"]["ticket"]["comment"]
    assert comment["body"].startswith("Hello Ana,\n\n")
    assert comment["html_body"].startswith("<p>Hello Ana,</p>")
    assert len(api.state.comments[ticket["id"]]) == 1  # nothing written


def test_a_comment_sent_as_html_body_keeps_it_and_gets_a_plain_body(api, agents):
    ticket = create(api, requester_id=agents["customer"]["id"])
    html_body = "<p>Dear {{ticket.requester.first_name}},</p><p>A &lt;fix&gt; is out.</p>"
    api.put(f"/api/v2/tickets/{ticket['id']}", json={"ticket": {"comment": {"html_body": html_body}}})
    comment = api.get(f"/api/v2/tickets/{ticket['id']}/comments").json["comments"][-1]
    assert comment["html_body"] == "<p>Dear Ana,</p><p>A &lt;fix&gt; is out.</p>"
    assert comment["body"] == comment["plain_body"] == "Dear Ana,\n\nA <fix> is out."
    assert api.client.get("/_sandbox/emails").json["emails"][-1]["body"] == "Dear Ana,\n\nA <fix> is out."


def test_the_seed_can_store_outage_desk_macros_as_the_editor_saves_them(make_api):
    state = SandboxState()
    summary = seed_outage(
        state, tickets=10, start=T0 - timedelta(hours=1), end=T0, macros=OUTAGE_DESK_MACROS, rich_text_macros=True
    )
    api = make_api(state)
    original = next(m for m in OUTAGE_DESK_MACROS if m["title"] == "Outage Desk closing (en)")
    text = next(a["value"] for a in original["actions"] if a["field"] == "comment_value")
    macro_id = summary.macro_ids["Outage Desk closing (en)"]
    fields = [action["field"] for action in api.get(f"/api/v2/macros/{macro_id}").json["macro"]["actions"]]
    assert "comment_value_html" in fields and "comment_value" not in fields
    comment = api.get(f"/api/v2/macros/{macro_id}/apply").json["result"]["ticket"]["comment"]
    assert comment["body"] == text and comment["html_body"].startswith("<p>")
