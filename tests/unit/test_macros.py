"""Macros as admins save them in Zendesk, read and applied to an update item the way Zendesk applies them.

Actions reference: https://developer.zendesk.com/documentation/ticketing/reference-guides/actions-reference/
"""

import random

import pytest
import responses

from app.errors import InputError
from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.macro import Macro, html_text
from app.zendesk.provisioning import DEFINITIONS_ROOT, load_definitions

API = "https://acme.zendesk.com/api/v2"
AUTHOR = 900
REPLY = "Hello {{ticket.requester.first_name}}, the API works again."
# The closing item resolve builds before the macro: ours, with the ledger markers.
ITEM = {"id": 42, "safe_update": True, "updated_stamp": "2026-12-06T10:00:00Z",
        "additional_tags": ["outage_desk_closed_3", "outage_desk_closed"]}


def macro(*actions, title="Outage Desk closing (fr)", macro_id=123):
    return Macro.from_json({"id": macro_id, "title": title, "active": True,
                            "actions": [{"field": field, "value": value} for field, value in actions]})


def applied(*actions, item=ITEM, **options):
    return macro(*actions).apply_to(item, AUTHOR, **options)


# -- the reply ---------------------------------------------------------------


def test_a_macro_from_the_rich_text_editor_sends_its_html():
    html = "<p>Bonjour {{ticket.requester.first_name}},</p><p>L'API fonctionne de nouveau.<br>Merci !</p>"

    item = applied(("comment_value_html", html), ("comment_mode_is_public", "true"), ("status", "solved"))

    assert item == {**ITEM, "status": "solved",
                    "comment": {"html_body": html, "public": True, "author_id": AUTHOR}}


@pytest.mark.parametrize("value", [REPLY, ["channel:all", REPLY]], ids=["string", "channel-all"])
def test_a_plain_macro_sends_its_text_as_the_body(value):
    assert applied(("comment_value", value))["comment"] == {"body": REPLY, "public": True, "author_id": AUTHOR}


def test_the_rich_text_wins_over_an_older_plain_text():
    item = applied(("comment_value", "old text"), ("comment_value_html", "<p>new text</p>"))
    assert item["comment"] == {"html_body": "<p>new text</p>", "public": True, "author_id": AUTHOR}


@pytest.mark.parametrize(("value", "public"), [(True, True), ("true", True), (False, False), ("false", False)])
def test_comment_mode_is_public_as_a_boolean_or_a_string(value, public):
    assert applied(("comment_value", REPLY), ("comment_mode_is_public", value))["comment"]["public"] is public


def test_without_comment_mode_the_reply_is_public_as_in_the_agent_workspace():
    assert applied(("comment_value", REPLY))["comment"]["public"] is True


def test_the_attributes_current_call_sites_read_work_for_a_rich_text_macro():
    read = macro(("comment_value_html", "<p>Hello,</p><p>fixed&nbsp;now.</p>"), ("comment_mode_is_public", False),
                 ("status", "pending"))
    assert (read.comment, read.public, read.status) == ("Hello,\n\nfixed\xa0now.", False, "pending")


# -- the other ticket changes -----------------------------------------------


@pytest.mark.parametrize("status", ["open", "pending", "hold", "solved"])
def test_status(status):
    assert applied(("comment_value", REPLY), ("status", status))["status"] == status


def test_priority_type_subject_group_and_custom_status_are_set():
    item = applied(("comment_value", REPLY), ("priority", "high"), ("type", "incident"),
                   ("subject", "API outage resolved"), ("group_id", "360001"), ("custom_status_id", 77))
    assert {key: item[key] for key in ("priority", "type", "subject", "group_id", "custom_status_id")} == {
        "priority": "high", "type": "incident", "subject": "API outage resolved", "group_id": 360001,
        "custom_status_id": 77}


def test_tags_added_join_ours_and_tags_removed_are_sent_to_be_removed():
    item = applied(("comment_value", REPLY), ("current_tags", "outage_followup Resolved outage_desk_closed"),
                   ("remove_tags", "waiting_on_dev  needs_triage"))
    assert item["additional_tags"] == ["outage_desk_closed_3", "outage_desk_closed", "outage_followup", "resolved"]
    assert item["remove_tags"] == ["waiting_on_dev", "needs_triage"]


def test_a_tag_this_update_adds_is_never_removed_by_the_macro():
    item = applied(("comment_value", REPLY), ("remove_tags", "outage_followup"),
                   item={"id": 42, "additional_tags": ["outage_followup"], "remove_tags": ["stale"]})
    assert item["additional_tags"] == ["outage_followup"]
    assert item["remove_tags"] == ["stale"]


@pytest.mark.parametrize(("value", "assignee"), [("current_user", AUTHOR), ("361234", 361234), ("", None)])
def test_assignee(value, assignee):
    assert applied(("comment_value", REPLY), ("assignee_id", value))["assignee_id"] == assignee


def test_only_the_assignee_takes_current_user_as_the_author():
    assert applied(("comment_value", REPLY), ("subject", "current_user"))["subject"] == "current_user"


def test_an_unassigning_group_action_sends_null():
    assert applied(("comment_value", REPLY), ("group_id", ""))["group_id"] is None


def test_what_our_item_already_sets_wins():
    ours = {**ITEM, "assignee_id": 555, "custom_fields": [{"id": 11, "value": "technical_issue__ti_status_wavy"}]}
    item = applied(("comment_value", REPLY), ("assignee_id", "current_user"), ("custom_fields_11", "billing"),
                   ("custom_fields_12", "impact_2"), item=ours)
    assert item["assignee_id"] == 555
    assert item["custom_fields"] == [{"id": 11, "value": "technical_issue__ti_status_wavy"},
                                     {"id": 12, "value": "impact_2"}]


def test_custom_fields_are_set():
    item = applied(("comment_value", REPLY), ("custom_fields_360012", "outage_resolved"))
    assert item["custom_fields"] == [{"id": 360012, "value": "outage_resolved"}]


def test_applying_returns_a_new_item_and_leaves_ours_as_it_was():
    ours = {**ITEM, "additional_tags": list(ITEM["additional_tags"])}
    applied(("comment_value", REPLY), ("current_tags", "more"), item=ours)
    assert ours == ITEM


def test_an_item_that_already_carries_a_comment_is_a_programming_error():
    with pytest.raises(ValueError, match="already carries a comment"):
        applied(("comment_value", REPLY), item={"id": 42, "comment": {"body": "a note"}})


# -- refused up front ---------------------------------------------------------


def test_set_tags_is_refused_naming_the_macro_and_the_action():
    with pytest.raises(InputError) as refused:
        macro(("comment_value", REPLY), ("set_tags", "outage_followup"))
    assert str(refused.value).startswith(
        "macro 'Outage Desk closing (fr)' #123: action set_tags cannot be applied by Outage Desk: "
        "it would replace the ticket's tags")


@pytest.mark.parametrize("html", ["<p><br></p>", "<p>&nbsp;</p>", "<div> </div><p>\u200b</p>", "",
                                  "<style>p {color: red}</style>"])
def test_a_rich_text_reply_with_no_text_is_refused(html):
    with pytest.raises(InputError, match=r"#123: action comment_value_html has no text, so the customer would get an "
                                         r"empty email"):
        macro(("comment_value_html", html), ("status", "solved"))


@pytest.mark.parametrize("text", ["", "   \n ", ["channel:all", " "]])
def test_a_plain_reply_with_no_text_is_refused(text):
    with pytest.raises(InputError, match="action comment_value has no text"):
        macro(("comment_value", text))


def test_a_rich_text_reply_with_no_text_is_refused_even_beside_an_old_plain_text():
    with pytest.raises(InputError, match="action comment_value_html has no text"):
        macro(("comment_value", REPLY), ("comment_value_html", "<p><br></p>"))


def test_a_macro_without_a_reply_is_refused():
    with pytest.raises(InputError, match=r"'Outage Desk closing \(fr\)' #123: it has no reply"):
        macro(("status", "solved"))


def test_a_reply_of_placeholders_only_is_refused():
    with pytest.raises(InputError, match="holds only placeholders"):
        macro(("comment_value_html", "<p>{{dc.outage_closing}}</p>"))


@pytest.mark.parametrize("field", ["notification_user", "side_conversation", "macro_id", "brand_id", "follower"])
def test_an_action_outage_desk_does_not_apply_is_refused(field):
    with pytest.raises(InputError, match=f"#123: action {field} cannot be applied by Outage Desk: Outage Desk applies "
                                         "only the reply"):
        macro(("comment_value", REPLY), (field, "1"))


@pytest.mark.parametrize(("field", "value"), [
    ("status", "closed"), ("status", "new"), ("priority", "critical"), ("type", "bug"),
    ("comment_mode_is_public", "yes"), ("group_id", "current_groups"), ("assignee_id", "requester_id"),
    ("subject", "Re: {{ticket.title}}"), ("current_tags", 12)])
def test_a_value_outage_desk_cannot_set_is_refused_naming_the_action(field, value):
    with pytest.raises(InputError, match=f"#123: action {field} cannot be applied by Outage Desk"):
        macro(("comment_value", REPLY), (field, value))


def test_removing_our_ledger_markers_is_refused():
    with pytest.raises(InputError, match="action remove_tags cannot be applied by Outage Desk: it would remove "
                                         "outage_desk_acknowledged"):
        macro(("comment_value", REPLY), ("remove_tags", "outage_desk_acknowledged"))


def test_removing_a_protected_tag_is_refused_when_checked_and_when_applied():
    closing = macro(("comment_value", REPLY), ("remove_tags", "API_down other"))
    with pytest.raises(InputError, match="remove_tags cannot be applied by Outage Desk: it would remove api_down"):
        closing.check_removals({"api_down", "technical_issue__ti_status_wavy"})
    with pytest.raises(InputError, match="it would remove api_down"):
        closing.apply_to(ITEM, AUTHOR, protected_tags={"api_down"})


def test_html_text_keeps_paragraphs_and_line_breaks():
    assert html_text("<p>Hello&nbsp;Ana,</p><p>It works.<br>Thanks</p>") == "Hello\xa0Ana,\n\nIt works.\nThanks"


def test_the_macros_setup_creates_can_all_be_sent():
    definitions = load_definitions(DEFINITIONS_ROOT / "macros", "macro", {})
    read = [Macro.from_json(data) for data in definitions]
    assert read and all(m.comment.strip() for m in read)


# -- the gateway refuses before declare or resolve writes anything ------------------


@pytest.fixture
def gateway(config, clock):
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock, rng=random.Random(1))


def listing(*macros):
    return {"macros": list(macros), "meta": {"has_more": False}, "links": {}}


@responses.activate
def test_the_gateway_reads_every_language_of_a_macro(gateway):
    responses.get(f"{API}/macros/active.json", json=listing(
        {"id": 1, "title": "Outage Desk closing (fr)", "active": True,
         "actions": [{"field": "comment_value_html", "value": "<p>C'est réparé.</p>"}]},
        {"id": 2, "title": "Outage Desk closing (en)", "active": True,
         "actions": [{"field": "comment_value", "value": ["channel:all", "It is fixed."]}]},
        {"id": 3, "title": "Billing: send invoice copy", "active": True, "actions": [{"field": "set_tags", "value": "x"}]}))

    found = gateway.macros("Outage Desk closing", protected_tags={"api_down"})

    assert {language: m.comment for language, m in found.items()} == {"fr": "C'est réparé.", "en": "It is fixed."}


@responses.activate
def test_the_gateway_refuses_an_empty_macro_naming_it(gateway):
    responses.get(f"{API}/macros/active.json", json=listing(
        {"id": 2, "title": "Outage Desk closing (en)", "active": True,
         "actions": [{"field": "comment_value", "value": "It is fixed."}]},
        {"id": 1, "title": "Outage Desk closing (fr)", "active": True,
         "actions": [{"field": "comment_value_html", "value": "<p><br></p>"}]}))

    with pytest.raises(InputError, match=r"macro 'Outage Desk closing \(fr\)' #1: action comment_value_html has no text"):
        gateway.macros("Outage Desk closing")


@responses.activate
def test_the_gateway_refuses_a_macro_by_id_that_removes_a_protected_tag(gateway):
    responses.get(f"{API}/macros/55.json", json={"macro": {"id": 55, "title": "Closing", "active": True, "actions": [
        {"field": "comment_value", "value": "Fixed."}, {"field": "remove_tags", "value": "api_down"}]}})

    with pytest.raises(InputError, match="macro 'Closing' #55: action remove_tags .* would remove api_down"):
        gateway.macros("55", protected_tags={"api_down"})
