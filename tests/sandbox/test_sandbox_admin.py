"""The admin API `outage-desk setup` provisions with: ticket fields, webhooks, triggers, macros."""

from __future__ import annotations

import json
import re

import pytest

from .support import API_TOKEN, Api, path_of

FORBIDDEN = {
    "error": {
        "title": "Forbidden",
        "message": "You do not have access to this page. "
        "Please contact the account owner of this help desk for further help.",
    }
}
CONTACT_REASON = {
    "type": "tagger",
    "title": "Contact reason",
    "custom_field_options": [
        {"name": "Technical Issue::TI/Status Wavy", "value": "technical_issue__ti_status_wavy"},
        {"name": "Technical Issue::Bug", "value": "technical_issue__bug"},
        {"name": "Billing::Invoice", "value": "billing__invoice"},
    ],
}
WEBHOOK = {
    "name": "Outage Desk",
    "status": "active",
    "endpoint": "https://outage-desk.example.com/webhooks/zendesk",
    "http_method": "POST",
    "request_format": "json",
    "subscriptions": ["conditional_ticket_events"],
    "authentication": {"type": "bearer_token", "data": {"token": "s3cret"}, "add_position": "header"},
}
BODY = '{"ticket_id": "{{ticket.id}}", "event": "ticket.created"}'
OPEN = {"field": "status", "value": "open"}


def details(response) -> dict:
    assert response.status_code == 422, response.json
    assert response.json["error"] == "RecordInvalid"
    assert response.json["description"] == "Record validation errors"
    return response.json["details"]


def error_titles(response, status: int = 400) -> list[str]:
    assert response.status_code == status, response.json
    return [error["title"] for error in response.json["errors"]]


def make_webhook(api: Api, **changes) -> dict:
    response = api.post("/api/v2/webhooks", json={"webhook": {**WEBHOOK, **changes}})
    assert response.status_code == 201, response.json
    return response.json["webhook"]


def webhook_action(*value: str) -> dict:
    return {"field": "notification_webhook", "value": list(value)}


def trigger_body(webhook_id: str, **changes) -> dict:
    return {
        "trigger": {
            "title": "Outage Desk: ticket created",
            "conditions": {
                "all": [
                    {"field": "update_type", "operator": "is", "value": "Create"},
                    {"field": "status", "operator": "less_than", "value": "solved"},
                ],
                "any": [
                    {"field": "via_id", "operator": "is", "value": "4"},
                    {"field": "subject_includes_word", "operator": "includes", "value": "API"},
                ],
            },
            "actions": [webhook_action(webhook_id, BODY)],
            **changes,
        }
    }


@pytest.fixture
def agent_api(api, agents) -> Api:
    """The same sandbox, authenticated as a plain agent with the (account-wide) API token."""
    return Api(api.app, email=agents["agent"]["email"], token=API_TOKEN)


# Ticket fields


def test_create_dropdown_field_gives_options_ids_and_keeps_nested_names(api):
    response = api.post("/api/v2/ticket_fields.json", json={"ticket_field": CONTACT_REASON})
    assert response.status_code == 201, response.json
    field = response.json["ticket_field"]
    assert field["type"] == "tagger" and field["title"] == field["raw_title"] == "Contact reason"
    assert field["description"] == "Contact reason" and field["active"] is True and field["removable"] is True
    assert field["url"].endswith(f"/api/v2/ticket_fields/{field['id']}.json")
    options = field["custom_field_options"]
    sent = CONTACT_REASON["custom_field_options"]
    assert [(o["name"], o["value"]) for o in options] == [(o["name"], o["value"]) for o in sent]
    assert all(isinstance(o["id"], int) for o in options) and len({o["id"] for o in options}) == 3
    assert options[0] == {
        "id": options[0]["id"],
        "name": "Technical Issue::TI/Status Wavy",
        "raw_name": "Technical Issue::TI/Status Wavy",
        "value": "technical_issue__ti_status_wavy",
        "default": False,
    }
    assert api.get(f"/api/v2/ticket_fields/{field['id']}").json["ticket_field"] == field


def test_field_type_defaults_to_text_without_options_and_tickets_take_any_value(api):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": {"title": "Status page URL"}}).json["ticket_field"]
    assert field["type"] == "text" and "custom_field_options" not in field
    ticket = api.customer_ticket(custom_fields=[{"id": field["id"], "value": "https://status.example.com"}])
    assert {"id": field["id"], "value": "https://status.example.com"} in ticket["custom_fields"]
    assert "https://status.example.com" not in ticket["tags"]


def test_invalid_field_bodies_are_record_invalid(api):
    assert set(details(api.post("/api/v2/ticket_fields", json={"ticket_field": {"type": "tagger"}}))) == {
        "title",
        "custom_field_options",
    }
    unknown_type = {"ticket_field": {"type": "dropdown", "title": "x"}}
    assert "type" in details(api.post("/api/v2/ticket_fields", json=unknown_type))
    bad_options = [
        {"name": "Has space", "value": "has space"},
        {"name": "", "value": "blank_name"},
        {"name": "One", "value": "same"},
        {"name": "Two", "value": "same"},
    ]
    body = {"ticket_field": {**CONTACT_REASON, "custom_field_options": bad_options}}
    found = details(api.post("/api/v2/ticket_fields", json=body))
    assert [p["error"] for p in found["custom_field_options"]] == ["InvalidValue", "BlankValue", "DuplicateValue"]
    assert api.state.ticket_fields == {}


def test_update_replaces_every_option_and_forgets_removed_ones(api):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": CONTACT_REASON}).json["ticket_field"]
    wavy, bug, invoice = field["custom_field_options"]
    ticket = api.customer_ticket(custom_fields=[{"id": field["id"], "value": "billing__invoice"}])
    macro = api.state.add_macro(
        "Invoice",
        [{"field": f"custom_fields_{field['id']}", "value": "billing__invoice"}, {"field": "status", "value": "open"}],
    )
    replacement = [
        {"id": wavy["id"], "name": "Technical Issue::Status Wavy", "value": wavy["value"]},
        {"name": "Technical Issue::Bug", "value": "technical_issue__bug"},
        {"name": "Account::Seats", "value": "account__seats"},
    ]
    response = api.put(
        f"/api/v2/ticket_fields/{field['id']}",
        json={"ticket_field": {"type": "text", "title": "Reason", "custom_field_options": replacement}},
    )
    assert response.status_code == 200, response.json
    updated = response.json["ticket_field"]
    assert updated["type"] == "tagger" and updated["title"] == updated["title_in_portal"] == "Reason"
    options = updated["custom_field_options"]
    assert [o["value"] for o in options] == [wavy["value"], bug["value"], "account__seats"]
    assert options[0]["id"] == wavy["id"] and options[0]["name"] == "Technical Issue::Status Wavy"
    assert options[1]["id"] == bug["id"] and options[2]["id"] not in (wavy["id"], bug["id"], invoice["id"])
    stored = api.get(f"/api/v2/tickets/{ticket['id']}").json["ticket"]
    assert {"id": field["id"], "value": None} in stored["custom_fields"]
    assert api.state.macros[macro["id"]]["actions"] == [{"field": "status", "value": "open"}]
    empty = api.put(f"/api/v2/ticket_fields/{field['id']}", json={"ticket_field": {"custom_field_options": []}})
    assert "custom_field_options" in details(empty)


def test_option_endpoint_creates_201_and_updates_200(api):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": CONTACT_REASON}).json["ticket_field"]
    path = f"/api/v2/ticket_fields/{field['id']}/options.json"
    created = api.post(path, json={"custom_field_option": {"name": "Account::Seats", "value": "account__seats"}})
    assert created.status_code == 201, created.json
    assert created.headers["Location"] == f"/api/v2/ticket_fields/{field['id']}/options.json"
    option = created.json["custom_field_option"]
    assert option["position"] == 3 and option["url"].endswith(f"/options/{option['id']}.json")
    renamed = {"id": option["id"], "name": "Account::Users and seats", "value": "account__seats"}
    updated = api.post(path, json={"custom_field_option": renamed})
    assert updated.status_code == 200
    assert updated.json["custom_field_option"]["id"] == option["id"]
    assert updated.json["custom_field_option"]["name"] == "Account::Users and seats"
    assert len(api.get(f"/api/v2/ticket_fields/{field['id']}").json["ticket_field"]["custom_field_options"]) == 4
    duplicate = api.post(path, json={"custom_field_option": {"name": "Again", "value": "billing__invoice"}})
    assert details(duplicate)["custom_field_option"][0]["error"] == "DuplicateValue"
    text = api.post("/api/v2/ticket_fields", json={"ticket_field": {"title": "Notes"}}).json["ticket_field"]
    assert details(api.post(f"/api/v2/ticket_fields/{text['id']}/options", json={"custom_field_option": option}))
    assert api.post("/api/v2/ticket_fields/1/options", json={"custom_field_option": option}).status_code == 404


# Webhooks


def test_webhook_create_show_and_signing_secret(api):
    webhook = make_webhook(api, description="Ticket events for Outage Desk")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", webhook["id"])
    assert webhook == {
        "id": webhook["id"],
        "name": "Outage Desk",
        "description": "Ticket events for Outage Desk",
        "status": "active",
        "subscriptions": ["conditional_ticket_events"],
        "created_at": "2026-11-22T10:00:00Z",
        "created_by": "1",
        "endpoint": WEBHOOK["endpoint"],
        "http_method": "POST",
        "request_format": "json",
        "authentication": {"type": "bearer_token", "add_position": "header"},
    }
    assert api.get(f"/api/v2/webhooks/{webhook['id']}").json["webhook"] == webhook
    secret = api.get(f"/api/v2/webhooks/{webhook['id']}/signing_secret").json["signing_secret"]
    assert secret["algorithm"] == "SHA256" and len(secret["secret"]) == 44
    other = make_webhook(api, name="Other")
    assert api.get(f"/api/v2/webhooks/{other['id']}/signing_secret").json["signing_secret"] != secret
    reset = api.post(f"/api/v2/webhooks/{webhook['id']}/signing_secret")
    assert reset.status_code == 201 and reset.json["signing_secret"]["secret"] != secret["secret"]
    assert api.get(f"/api/v2/webhooks/{webhook['id']}/signing_secret").json == reset.json


def test_basic_auth_shows_only_the_username(api):
    auth = {"type": "basic_auth", "data": {"username": "desk", "password": "pw"}, "add_position": "header"}
    webhook = make_webhook(api, authentication=auth)
    assert webhook["authentication"] == {"type": "basic_auth", "data": {"username": "desk"}, "add_position": "header"}


@pytest.mark.parametrize(
    ("changes", "attribute"),
    [
        ({"endpoint": "ftp://outage-desk.example.com/hook"}, "endpoint"),
        ({"endpoint": "outage-desk.example.com/hook"}, "endpoint"),
        ({"name": ""}, "name"),
        ({"http_method": "SEND"}, "http_method"),
        ({"request_format": "yaml"}, "request_format"),
        ({"subscriptions": ["conditional_ticket_events", "zen:event-type:ticket.created"]}, "subscriptions"),
        ({"subscriptions": ["ticket.created"]}, "subscriptions"),
        ({"subscriptions": ["zen:event-type:ticket.created"], "http_method": "PUT"}, "subscriptions"),
        ({"authentication": {"type": "bearer_token", "data": {}, "add_position": "header"}}, "authentication"),
    ],
)
def test_invalid_webhooks_are_bad_requests_with_an_errors_list(api, changes, attribute):
    response = api.post("/api/v2/webhooks", json={"webhook": {**WEBHOOK, **changes}})
    titles = error_titles(response)
    assert titles and any(attribute in title for title in titles), titles
    assert api.state.webhooks == {}


def test_webhook_list_filters_by_name_and_pages_by_cursor(api):
    for name in ("Outage Desk", "outage desk (staging)", "Slack relay"):
        make_webhook(api, name=name)
    found = api.get("/api/v2/webhooks?filter[name_contains]=OUTAGE").json
    assert sorted(w["name"] for w in found["webhooks"]) == ["Outage Desk", "outage desk (staging)"]
    assert found["meta"] == {"has_more": False} and "links" not in found
    first = api.get("/api/v2/webhooks?page[size]=2&sort=name").json
    assert [w["name"] for w in first["webhooks"]] == ["Outage Desk", "Slack relay"]
    assert first["meta"]["has_more"] is True
    rest = api.get(path_of(first["links"]["next"])).json
    assert [w["name"] for w in rest["webhooks"]] == ["outage desk (staging)"] and rest["meta"] == {"has_more": False}
    assert [w["name"] for w in api.get("/api/v2/webhooks").json["webhooks"]] == [
        "Slack relay",
        "outage desk (staging)",
        "Outage Desk",
    ]


def test_webhook_put_replaces_patch_merges_delete_removes(api, clock):
    webhook = make_webhook(api, description="old")
    clock.advance(60)
    put = api.put(
        f"/api/v2/webhooks/{webhook['id']}",
        json={"webhook": {**{k: WEBHOOK[k] for k in ("status", "http_method", "request_format")},
                          "name": "Outage Desk v2", "endpoint": "https://desk.example.com/hook"}},
    )
    assert put.status_code == 204 and put.data == b""
    shown = api.get(f"/api/v2/webhooks/{webhook['id']}").json["webhook"]
    assert shown["name"] == "Outage Desk v2" and shown["endpoint"] == "https://desk.example.com/hook"
    assert "description" not in shown and "authentication" not in shown
    assert shown["subscriptions"] == ["conditional_ticket_events"]
    assert shown["updated_at"] == "2026-11-22T10:01:00Z" and shown["updated_by"] == "1"
    patch = api.patch(f"/api/v2/webhooks/{webhook['id']}", json={"webhook": {"status": "inactive"}})
    assert patch.status_code == 204
    patched = api.get(f"/api/v2/webhooks/{webhook['id']}").json["webhook"]
    assert patched == {**shown, "status": "inactive"}
    switch = api.patch(
        f"/api/v2/webhooks/{webhook['id']}", json={"webhook": {"subscriptions": ["zen:event-type:ticket.created"]}}
    )
    assert any("switch between triggers and events" in title for title in error_titles(switch))
    incomplete = api.put(f"/api/v2/webhooks/{webhook['id']}", json={"webhook": {"name": "x"}})
    assert len(error_titles(incomplete)) == 4
    assert api.delete(f"/api/v2/webhooks/{webhook['id']}").status_code == 204
    missing = api.get(f"/api/v2/webhooks/{webhook['id']}")
    assert missing.status_code == 404 and missing.json["errors"][0]["code"] == "RecordNotFound"
    assert api.get("/api/v2/webhooks.json").status_code == 404


# Triggers and trigger categories


def test_trigger_categories_create_list_and_errors(api):
    created = api.post("/api/v2/trigger_categories", json={"trigger_category": {"name": "Outage Desk"}})
    assert created.status_code == 200
    category = created.json["trigger_category"]
    assert category == {
        "id": category["id"],
        "name": "Outage Desk",
        "position": 0,
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:00:00Z",
    }
    assert isinstance(category["id"], str)
    second = api.post("/api/v2/trigger_categories", json={"trigger_category": {"name": "Notifications"}}).json
    assert second["trigger_category"]["position"] == 1
    assert [c["name"] for c in api.get("/api/v2/trigger_categories").json["trigger_categories"]] == [
        "Outage Desk",
        "Notifications",
    ]
    assert api.get(f"/api/v2/trigger_categories/{category['id']}").json["trigger_category"] == category
    blank = api.post("/api/v2/trigger_categories", json={"trigger_category": {"name": " "}})
    assert blank.json == {"errors": [{"code": "InvalidTriggerCategory", "title": "Name cannot be blank"}]}
    assert blank.status_code == 400
    missing = api.get("/api/v2/trigger_categories/1")
    assert missing.status_code == 404 and missing.json["errors"][0]["code"] == "TriggerCategoryNotFound"


def test_create_trigger_stores_it_faithfully_and_last(api):
    webhook = make_webhook(api)
    category = api.post("/api/v2/trigger_categories", json={"trigger_category": {"name": "Outage Desk"}}).json
    category_id = category["trigger_category"]["id"]
    first = api.post("/api/v2/triggers", json=trigger_body(webhook["id"], title="First"))
    assert first.status_code == 201, first.json
    created = api.post("/api/v2/triggers.json", json=trigger_body(webhook["id"], description="Webhook on create"))
    assert created.status_code == 201, created.json
    trigger = created.json["trigger"]
    sent = trigger_body(webhook["id"])["trigger"]
    assert trigger == {
        "url": f"http://localhost/api/v2/triggers/{trigger['id']}.json",
        "id": trigger["id"],
        "title": sent["title"],
        "active": True,
        "updated_at": "2026-11-22T10:00:00Z",
        "created_at": "2026-11-22T10:00:00Z",
        "default": False,
        "actions": sent["actions"],
        "conditions": sent["conditions"],
        "description": "Webhook on create",
        "position": first.json["trigger"]["position"] + 1,
        "raw_title": sent["title"],
        "category_id": category_id,
    }
    assert json.loads(trigger["actions"][0]["value"][1]) == {"ticket_id": "{{ticket.id}}", "event": "ticket.created"}
    assert api.get(f"/api/v2/triggers/{trigger['id']}").json["trigger"] == trigger
    listed = api.get("/api/v2/triggers").json
    assert [t["title"] for t in listed["triggers"]] == ["First", sent["title"]] and listed["count"] == 2
    page = api.get("/api/v2/triggers?page[size]=1").json
    assert page["triggers"][0]["title"] == "First" and page["meta"]["has_more"] is True
    assert api.get(path_of(page["links"]["next"])).json["triggers"][0]["id"] == trigger["id"]


def test_legacy_top_level_conditions_and_changed_operators(api):
    body = {
        "trigger": {
            "title": "Legacy",
            "all": [{"field": "assignee_id", "operator": "changed"}],
            "actions": [{"field": "status", "value": "open"}],
        }
    }
    trigger = api.post("/api/v2/triggers", json=body).json["trigger"]
    assert trigger["conditions"] == {"all": [{"field": "assignee_id", "operator": "changed", "value": None}], "any": []}
    assert trigger["category_id"] is None and trigger["position"] == 1


@pytest.mark.parametrize(
    ("change", "attribute", "needle"),
    [
        ({"title": ""}, "title", "Title"),
        ({"actions": []}, "actions", "cannot be blank"),
        ({"actions": [{"field": "comment_value", "value": "hi"}]}, "actions", "comment_value"),
        ({"conditions": {"all": [{"field": "tags", "operator": "includes", "value": "x"}]}}, "conditions", "tags"),
        ({"conditions": {"all": [{"field": "current_tags", "operator": "is", "value": "x"}]}}, "conditions", "is"),
        ({"conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Made"}]}}, "conditions", "Made"),
        ({"conditions": {"any": [{"field": "via_id", "operator": "is", "value": "email"}]}}, "conditions", "via_id"),
        ({"conditions": {"all": [{"field": "status", "operator": "is", "value": "waiting"}]}}, "conditions", "status"),
        ({"category_id": "999"}, "category_id", "999"),
    ],
)
def test_invalid_triggers_are_record_invalid(api, change, attribute, needle):
    webhook = make_webhook(api)
    found = details(api.post("/api/v2/triggers", json=trigger_body(webhook["id"], **change)))
    assert any(needle in problem["description"] for problem in found[attribute]), found
    assert api.state.triggers == {}


def test_webhook_actions_need_a_trigger_webhook_and_json_text(api):
    events_hook = make_webhook(api, name="Events", subscriptions=["zen:event-type:ticket.created"])
    xml_hook = make_webhook(api, name="XML", request_format="xml")
    json_hook = make_webhook(api, name="JSON")
    cases = {
        "01J0000000000000000000000Z": "does not exist",
        events_hook["id"]: "conditional_ticket_events",
    }
    for webhook_id, needle in cases.items():
        found = details(api.post("/api/v2/triggers", json=trigger_body(webhook_id)))
        assert needle in found["actions"][0]["description"]
    unquoted = '{"ticket_id": {{ticket.id}}}'
    invalid = trigger_body(json_hook["id"], actions=[webhook_action(json_hook["id"], unquoted)])
    assert "not valid JSON" in details(api.post("/api/v2/triggers", json=invalid))["actions"][0]["description"]
    as_xml = trigger_body(xml_hook["id"], actions=[webhook_action(xml_hook["id"], "<id/>")])
    assert api.post("/api/v2/triggers", json=as_xml).status_code == 201
    one_part = trigger_body(json_hook["id"], actions=[webhook_action(json_hook["id"])])
    assert details(api.post("/api/v2/triggers", json=one_part))["actions"]


def test_trigger_update_and_delete(api, clock):
    webhook = make_webhook(api)
    trigger = api.post("/api/v2/triggers", json=trigger_body(webhook["id"])).json["trigger"]
    clock.advance(120)
    renamed = api.put(f"/api/v2/triggers/{trigger['id']}", json={"trigger": {"title": "Renamed", "active": False}})
    assert renamed.status_code == 200
    after = renamed.json["trigger"]
    assert after == {
        **trigger,
        "title": "Renamed",
        "raw_title": "Renamed",
        "active": False,
        "updated_at": "2026-11-22T10:02:00Z",
    }
    # Sending conditions alone clears the actions too, as Zendesk documents.
    only_conditions = {"trigger": {"conditions": trigger["conditions"]}}
    assert "actions" in details(api.put(f"/api/v2/triggers/{trigger['id']}", json=only_conditions))
    both = {"trigger": {"conditions": {"all": trigger["conditions"]["all"]}, "actions": trigger["actions"]}}
    replaced = api.put(f"/api/v2/triggers/{trigger['id']}", json=both).json["trigger"]
    assert replaced["conditions"] == {"all": trigger["conditions"]["all"], "any": []}
    assert api.delete(f"/api/v2/triggers/{trigger['id']}").status_code == 204
    assert api.get(f"/api/v2/triggers/{trigger['id']}").status_code == 404
    assert api.put(f"/api/v2/triggers/{trigger['id']}", json=both).status_code == 404


# Macros


def test_macro_create_update_delete(api):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": CONTACT_REASON}).json["ticket_field"]
    actions = [
        {"field": "comment_value", "value": ["channel:all", "Hello {{ticket.requester.first_name}}, it is fixed."]},
        {"field": "comment_mode_is_public", "value": True},
        {"field": "status", "value": "solved"},
        {"field": "current_tags", "value": "outage_closed"},
        {"field": f"custom_fields_{field['id']}", "value": "technical_issue__ti_status_wavy"},
    ]
    body = {"macro": {"title": "Outage Desk closing (en)", "actions": actions}}
    created = api.post("/api/v2/macros", json=body)
    assert created.status_code == 201, created.json
    macro = created.json["macro"]
    assert macro["actions"] == actions and macro["active"] is True and macro["restriction"] is None
    assert macro["description"] is None and macro["raw_title"] == "Outage Desk closing (en)"
    # Zendesk does not require unique macro titles.
    assert api.post("/api/v2/macros", json=body).status_code == 201
    assert api.get(f"/api/v2/macros/{macro['id']}").json["macro"] == macro
    updated = api.put(f"/api/v2/macros/{macro['id']}", json={"macro": {"actions": actions[2:3], "active": False}})
    assert updated.status_code == 200
    assert updated.json["macro"]["actions"] == actions[2:3] and updated.json["macro"]["title"] == macro["title"]
    assert api.delete(f"/api/v2/macros/{macro['id']}").status_code == 204
    assert api.get(f"/api/v2/macros/{macro['id']}").status_code == 404


@pytest.mark.parametrize(
    ("macro", "attribute"),
    [
        ({"actions": [{"field": "status", "value": "solved"}]}, "title"),
        ({"title": "No actions", "actions": []}, "actions"),
        ({"title": "Bad field", "actions": [{"field": "notification_webhook", "value": ["x", "{}"]}]}, "actions"),
        ({"title": "New status", "actions": [{"field": "status", "value": "new"}]}, "actions"),
        ({"title": "Bad option", "actions": [{"field": "custom_fields_{field}", "value": "nope"}]}, "actions"),
        ({"title": "No field", "actions": [{"field": "custom_fields_1", "value": "x"}]}, "actions"),
        ({"title": "Restricted", "actions": [OPEN], "restriction": {"type": "Org"}}, "restriction"),
    ],
)
def test_invalid_macros_are_record_invalid(api, macro, attribute):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": CONTACT_REASON}).json["ticket_field"]
    body = json.loads(json.dumps(macro).replace("{field}", str(field["id"])))
    assert attribute in details(api.post("/api/v2/macros", json={"macro": body}))
    assert api.state.macros == {}


# Permissions and the call log


def test_agents_get_403_on_admin_endpoints(api, agents, agent_api):
    webhook = make_webhook(api)
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": CONTACT_REASON}).json["ticket_field"]
    trigger = api.post("/api/v2/triggers", json=trigger_body(webhook["id"])).json["trigger"]
    macro = api.post("/api/v2/macros", json={"macro": {"title": "m", "actions": [OPEN]}})
    calls = [
        ("post", "/api/v2/ticket_fields", {"ticket_field": CONTACT_REASON}),
        ("put", f"/api/v2/ticket_fields/{field['id']}", {"ticket_field": {"title": "x"}}),
        ("post", f"/api/v2/ticket_fields/{field['id']}/options", {"custom_field_option": {"name": "a", "value": "a"}}),
        ("get", "/api/v2/webhooks", None),
        ("post", "/api/v2/webhooks", {"webhook": WEBHOOK}),
        ("get", f"/api/v2/webhooks/{webhook['id']}", None),
        ("put", f"/api/v2/webhooks/{webhook['id']}", {"webhook": WEBHOOK}),
        ("patch", f"/api/v2/webhooks/{webhook['id']}", {"webhook": {"name": "x"}}),
        ("delete", f"/api/v2/webhooks/{webhook['id']}", None),
        ("get", f"/api/v2/webhooks/{webhook['id']}/signing_secret", None),
        ("post", f"/api/v2/webhooks/{webhook['id']}/signing_secret", None),
        ("post", "/api/v2/triggers", trigger_body(webhook["id"])),
        ("put", f"/api/v2/triggers/{trigger['id']}", {"trigger": {"title": "x"}}),
        ("delete", f"/api/v2/triggers/{trigger['id']}", None),
        ("post", "/api/v2/trigger_categories", {"trigger_category": {"name": "x"}}),
        ("post", "/api/v2/macros", {"macro": {"title": "m", "actions": [OPEN]}}),
        ("put", f"/api/v2/macros/{macro.json['macro']['id']}", {"macro": {"title": "x"}}),
        ("delete", f"/api/v2/macros/{macro.json['macro']['id']}", None),
    ]
    for method, path, body in calls:
        response = getattr(agent_api, method)(path, json=body)
        assert (response.status_code, response.json) == (403, FORBIDDEN), (method, path)
    assert len(api.state.webhooks) == 1 and len(api.state.triggers) == 1 and len(api.state.macros) == 1
    # Reading triggers and fields is documented as allowed for agents.
    assert agent_api.get(f"/api/v2/triggers/{trigger['id']}").status_code == 200
    assert agent_api.get("/api/v2/trigger_categories").status_code == 200
    assert agent_api.get(f"/api/v2/ticket_fields/{field['id']}").status_code == 200
    refused = [call for call in api.state.calls if call["status"] == 403]
    assert len(refused) == len(calls) and {call["user_id"] for call in refused} == {agents["agent"]["id"]}


def test_admin_calls_are_counted_like_other_api_calls(api):
    api.state.reset_stats()
    webhook = make_webhook(api)
    api.get(f"/api/v2/webhooks/{webhook['id']}/signing_secret")
    api.post("/api/v2/triggers", json=trigger_body(webhook["id"]))
    by_endpoint = api.state.stats()["by_endpoint"]
    assert by_endpoint == {
        "POST /api/v2/webhooks": 1,
        "GET /api/v2/webhooks/{webhook_id}/signing_secret": 1,
        "POST /api/v2/triggers": 1,
    }


def test_setup_round_trip_is_idempotent(api):
    """What `setup` does: create, read back, compare with what it wants, update only what differs."""
    webhook = make_webhook(api)
    wanted = trigger_body(webhook["id"])["trigger"]
    trigger = api.post("/api/v2/triggers", json={"trigger": wanted}).json["trigger"]
    listed = api.get("/api/v2/triggers").json["triggers"]
    existing = next(t for t in listed if t["title"] == wanted["title"])
    assert {key: existing[key] for key in wanted} == wanted
    found = api.get("/api/v2/webhooks?filter[name_contains]=Outage Desk").json["webhooks"]
    assert [w["id"] for w in found] == [webhook["id"]]
    assert {k: found[0][k] for k in ("endpoint", "http_method", "request_format", "subscriptions")} == {
        k: WEBHOOK[k] for k in ("endpoint", "http_method", "request_format", "subscriptions")
    }
    changed = {**wanted, "conditions": {"all": wanted["conditions"]["all"][:1], "any": []}}
    updated = api.put(f"/api/v2/triggers/{trigger['id']}", json={"trigger": changed}).json["trigger"]
    assert {key: updated[key] for key in changed} == changed and updated["id"] == trigger["id"]
    assert len(api.state.triggers) == 1


def test_delete_a_ticket_field_and_several_macros(api):
    field = api.post("/api/v2/ticket_fields", json={"ticket_field": {"title": "Notes"}}).json["ticket_field"]
    assert api.delete(f"/api/v2/ticket_fields/{field['id']}").status_code == 204
    assert api.get(f"/api/v2/ticket_fields/{field['id']}").status_code == 404
    macros = [api.state.add_macro(f"M{n}", [OPEN])["id"] for n in range(2)]
    assert api.delete(f"/api/v2/macros/destroy_many?ids={macros[0]},99").status_code == 404
    assert api.delete(f"/api/v2/macros/destroy_many?ids={macros[0]},{macros[1]}").status_code == 204
    assert api.state.macros == {}


def test_clone_a_webhook_copies_it_under_a_new_id_and_secret(api):
    original = api.post("/api/v2/webhooks", json={"webhook": {
        "name": "App", "endpoint": "https://example.com/hook", "http_method": "POST", "request_format": "json",
        "status": "active", "subscriptions": ["conditional_ticket_events"]}}).json["webhook"]
    response = api.post(f"/api/v2/webhooks?clone_webhook_id={original['id']}")
    assert response.status_code == 201
    copy = response.json["webhook"]
    assert copy["name"] == "App (copy)" and copy["id"] != original["id"]
    assert copy["endpoint"] == original["endpoint"] and copy["subscriptions"] == original["subscriptions"]
    assert api.state.webhooks[copy["id"]]["signing_secret"] != api.state.webhooks[original["id"]]["signing_secret"]
