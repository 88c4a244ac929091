"""The trigger cycle, one test per documented semantic (Zendesk's triggers, conditions and actions references)."""

from __future__ import annotations

import json

import pytest

from .support import Receiver, create, update, zendesk_signature

CREATED = {"field": "update_type", "operator": "is", "value": "Create"}
CHANGED = {"field": "update_type", "operator": "is", "value": "Change"}


def when(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator, "value": value}


def add_trigger(api, title: str, actions: list[dict], *, all_of=(), any_of=(), **attributes) -> dict:
    """Create a trigger through the Triggers API (placed last unless a position is given)."""
    body = {"title": title, "conditions": {"all": list(all_of), "any": list(any_of)}, "actions": actions, **attributes}
    response = api.post("/api/v2/triggers", json={"trigger": body})
    assert response.status_code == 201, response.json
    return response.json["trigger"]


def add_tag(tag: str) -> dict:
    return {"field": "current_tags", "value": tag}


def stored(api, ticket_id: int) -> dict:
    return api.get(f"/api/v2/tickets/{ticket_id}").json["ticket"]


@pytest.fixture
def agent(api) -> dict:
    return api.state.add_user("Julien Moreau", email="julien@example.com", role="agent")


def test_triggers_run_first_to_last_so_the_last_one_to_set_a_field_wins(api):
    add_trigger(api, "High", [{"field": "priority", "value": "high"}], all_of=[CREATED])
    add_trigger(api, "Low", [{"field": "priority", "value": "low"}], all_of=[CREATED])
    assert create(api)["priority"] == "low"

    add_trigger(api, "Urgent first", [{"field": "priority", "value": "urgent"}], all_of=[CREATED], position=0)
    assert create(api)["priority"] == "low"


def test_a_trigger_that_fires_starts_the_cycle_again_from_the_first_trigger(api):
    # The first trigger does not match until the second one has tagged the ticket.
    add_trigger(api, "Escalate", [{"field": "priority", "value": "urgent"}],
                all_of=[when("current_tags", "includes", "vip")])
    add_trigger(api, "Tag VIPs", [add_tag("vip")], all_of=[CREATED, when("subject_includes_word", "includes", "VIP")])
    ticket = create(api, subject="VIP customer")
    assert ticket["priority"] == "urgent" and ticket["tags"] == ["vip"]


def test_each_trigger_fires_at_most_once_per_update_so_a_loop_stops(api):
    # Each undoes the other: without fire-once the cycle would never end.
    add_trigger(api, "Ping", [add_tag("ping"), {"field": "remove_tags", "value": "pong"}],
                all_of=[when("current_tags", "not_includes", "ping")])
    add_trigger(api, "Pong", [add_tag("pong"), {"field": "remove_tags", "value": "ping"}],
                all_of=[when("current_tags", "includes", "ping")])
    assert create(api)["tags"] == ["pong"]
    # A later update is a new cycle: both fire once more.
    ticket = create(api)
    assert update(api, ticket["id"], subject="again").json["ticket"]["tags"] == ["pong"]


@pytest.mark.parametrize(
    ("all_of", "any_of", "fires"),
    [
        ([when("status", "is", "new"), when("priority", "is", "high")], [], True),
        ([when("status", "is", "new"), when("priority", "is", "low")], [], False),
        ([], [when("priority", "is", "low"), when("priority", "is", "high")], True),
        ([], [when("priority", "is", "low"), when("priority", "is", "urgent")], False),
        ([when("status", "is", "new")], [when("type", "is", "task"), when("type", "is", "incident")], True),
        ([when("status", "is", "open")], [when("type", "is", "incident")], False),
    ],
)
def test_all_conditions_must_hold_and_at_least_one_any_condition_if_there_are_some(api, all_of, any_of, fires):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=all_of, any_of=any_of)
    assert ("marked" in create(api, priority="high", type="incident")["tags"]) is fires


@pytest.mark.parametrize(
    ("operator", "value", "fires"),
    [
        ("includes", "billing outage", True),  # at least one of the listed tags
        ("includes", "billing refund", False),
        ("not_includes", "billing refund", True),  # none of the listed tags
        ("not_includes", "refund outage", False),
    ],
)
def test_tag_conditions_read_a_space_separated_list_as_any_or_none(api, operator, value, fires):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[when("current_tags", operator, value)])
    assert ("marked" in create(api, tags=["outage", "vip"])["tags"]) is fires


def test_tag_actions_add_remove_and_replace(api):
    add_trigger(api, "Add and remove", [add_tag("one two"), {"field": "remove_tags", "value": "old"}],
                all_of=[CREATED])
    assert create(api, tags=["old", "kept"])["tags"] == ["kept", "one", "two"]
    add_trigger(api, "Replace", [{"field": "set_tags", "value": "only"}], all_of=[CHANGED])
    ticket = create(api, tags=["kept"])
    assert update(api, ticket["id"], priority="low").json["ticket"]["tags"] == ["only"]


@pytest.mark.parametrize(
    ("operator", "value", "fires"),
    [
        ("changed", None, True),
        ("not_changed", None, False),
        ("value", "open", True),  # changed to
        ("value", "pending", False),
        ("value_previous", "solved", True),  # changed from
        ("value_previous", "new", False),
        ("not_value", "open", False),  # not changed to
        ("not_value", "pending", True),
        ("not_value_previous", "solved", False),  # not changed from
        ("not_value_previous", "new", True),
    ],
)
def test_change_operators_compare_with_the_ticket_before_the_update(api, agent, operator, value, fires):
    ticket = create(api, assignee_id=agent["id"])
    update(api, ticket["id"], status="solved")
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[CHANGED, when("status", operator, value)])
    reopened = update(api, ticket["id"], status="open").json["ticket"]
    assert ("marked" in reopened["tags"]) is fires


def test_a_field_unchanged_by_the_update_is_not_changed(api):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[CHANGED, when("priority", "changed")])
    ticket = create(api, priority="low")
    assert "marked" not in update(api, ticket["id"], subject="other").json["ticket"]["tags"]
    assert "marked" in update(api, ticket["id"], priority="high").json["ticket"]["tags"]


def test_a_change_made_by_an_earlier_trigger_counts_as_a_change(api, agent):
    add_trigger(api, "Solve done", [{"field": "status", "value": "solved"}],
                all_of=[CHANGED, when("current_tags", "includes", "done")])
    add_trigger(api, "Tell on solve", [add_tag("told")], all_of=[when("status", "value", "solved")])
    ticket = create(api, assignee_id=agent["id"])
    assert update(api, ticket["id"], additional_tags=["done"]).json["ticket"]["tags"] == ["done", "told"]


@pytest.mark.parametrize(
    ("operator", "value", "fires"),
    [("less_than", "solved", True), ("less_than", "open", False), ("greater_than", "new", True),
     ("greater_than", "pending", False), ("is_not", "open", False)],
)
def test_status_order_is_new_open_pending_hold_solved_closed(api, agent, operator, value, fires):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[when("status", operator, value)])
    assert ("marked" in create(api, assignee_id=agent["id"])["tags"]) is fires  # an assigned new ticket is open


@pytest.mark.parametrize(
    ("operator", "value", "fires"), [("less_than", "high", True), ("greater_than", "normal", False)]
)
def test_priority_order_is_low_normal_high_urgent(api, operator, value, fires):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[when("priority", operator, value)])
    assert ("marked" in create(api, priority="normal")["tags"]) is fires


def test_inactive_triggers_never_run(api):
    trigger = add_trigger(api, "Mark", [add_tag("marked")], all_of=[CREATED], active=False)
    assert create(api)["tags"] == []
    api.put(f"/api/v2/triggers/{trigger['id']}", json={"trigger": {"active": True}})
    assert create(api)["tags"] == ["marked"]


def test_update_type_and_current_user_name_who_made_the_update(api, agent):
    add_trigger(api, "Take it", [{"field": "assignee_id", "value": "current_user"}],
                all_of=[CHANGED, when("assignee_id", "is", "")])
    ticket = create(api)
    assert ticket["assignee_id"] is None  # a create is not a change
    assert update(api, ticket["id"], priority="low").json["ticket"]["assignee_id"] == 1  # the API user


def test_channel_comment_and_custom_field_conditions(api):
    field = api.state.add_ticket_field("Reason", [("Outage", "reason_outage"), ("Billing", "reason_billing")])
    add_trigger(api, "Outage mail", [{"field": f"custom_fields_{field['id']}", "value": "reason_outage"}],
                all_of=[CREATED, when("via_id", "is", "4"), when("comment_includes_word", "includes", "503 down")])
    add_trigger(api, "Private note", [add_tag("noted")], all_of=[when("comment_is_public", "is", False)])
    mailed = api.customer_ticket(description="The API is down")
    assert "reason_outage" in mailed["tags"]
    assert {"id": field["id"], "value": "reason_outage"} in mailed["custom_fields"]
    by_api = create(api, comment={"body": "The API is down"})
    assert by_api["tags"] == []  # via_id 5, not 4
    noted = update(api, by_api["id"], comment={"body": "internal", "public": False}).json["ticket"]
    assert noted["tags"] == ["noted"]


def test_trigger_changes_are_part_of_the_same_update(api, clock):
    add_trigger(api, "Prioritise", [{"field": "priority", "value": "high"}], all_of=[CHANGED])
    ticket = create(api)
    clock.advance(60)
    response = update(api, ticket["id"], subject="Changed")
    audit, saved = response.json["audit"], response.json["ticket"]
    assert {(e["field_name"], e["value"]) for e in audit["events"]} == {("subject", "Changed"), ("priority", "high")}
    assert saved["updated_at"] == audit["created_at"] == "2026-11-22T10:01:00Z"


def test_an_update_that_changes_nothing_runs_no_trigger(api):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[CHANGED])
    ticket = create(api, subject="Same")
    assert update(api, ticket["id"], subject="Same").json["ticket"]["tags"] == []


def test_triggers_run_on_each_ticket_of_a_bulk_job(api):
    add_trigger(api, "Mark", [add_tag("marked")], all_of=[when("status", "value", "pending")])
    ids = [create(api)["id"] for _ in range(2)]
    api.put(f"/api/v2/tickets/update_many?ids={ids[0]},{ids[1]}", json={"ticket": {"status": "pending"}})
    api.finish_jobs()
    assert [stored(api, ticket_id)["tags"] for ticket_id in ids] == [["marked"], ["marked"]]


@pytest.mark.parametrize(
    ("conditions", "actions", "needle"),
    [
        ({"all": [when("current_tags", "changed")]}, [add_tag("x")], "changed"),
        ({"all": [when("reopens", "greater_than", "2")]}, [add_tag("x")], "reopens"),
        ({"all": [CREATED]}, [{"field": "notification_user", "value": ["requester_id", "Hi", "Hello"]}],
         "notification_user"),
        ({"all": [CREATED]}, [{"field": "group_id", "value": "current_groups"}], "current_groups"),
    ],
)
def test_conditions_and_actions_the_cycle_would_not_run_are_refused(api, conditions, actions, needle):
    body = {"trigger": {"title": "Refused", "conditions": conditions, "actions": actions}}
    response = api.post("/api/v2/triggers", json=body)
    assert response.status_code == 422 and response.json["error"] == "RecordInvalid"
    assert needle in json.dumps(response.json["details"])


def test_a_webhook_action_posts_its_body_rendered_as_plain_text_and_signed(api, clock):
    receiver = Receiver([])
    try:
        webhook = api.post("/api/v2/webhooks", json={"webhook": {
            "name": "App", "endpoint": f"{receiver.server.url}/hooks/zendesk", "http_method": "POST",
            "request_format": "json", "status": "active", "subscriptions": ["conditional_ticket_events"],
            "authentication": {"type": "bearer_token", "data": {"token": "t0k"}, "add_position": "header"},
        }}).json["webhook"]
        body = ('{"id": "{{ticket.id}}", "status": "{{ticket.status}}", "tags": "{{ticket.tags}}", '
                '"at": "{{ticket.updated_at_with_timestamp}}", "by": "{{current_user.id}}"}')
        trigger = add_trigger(api, "Tell the app", [add_tag("told"), {"field": "notification_webhook",
                                                                      "value": [webhook["id"], body]}],
                              all_of=[CREATED])
        ticket = create(api, tags=["vip"])
        assert api.sandbox.webhooks.wait_idle(10)
    finally:
        receiver.server.shutdown()
    [(headers, raw)] = receiver.received
    assert json.loads(raw) == {"id": str(ticket["id"]), "status": "New", "tags": "vip told",
                               "at": "2026-11-22T10:00:00Z", "by": "1"}
    secret = api.get(f"/api/v2/webhooks/{webhook['id']}/signing_secret").json["signing_secret"]["secret"]
    assert headers["X-Zendesk-Webhook-Signature-Timestamp"] == "2026-11-22T10:00:00Z"
    assert headers["X-Zendesk-Webhook-Signature"] == zendesk_signature(secret, "2026-11-22T10:00:00Z", raw)
    assert headers["X-Zendesk-Webhook-Id"] == webhook["id"]
    assert headers["X-Zendesk-Webhook-Invocation-Id"].isdigit()
    assert headers["Authorization"] == "Bearer t0k" and headers["Content-Type"] == "application/json"
    [delivery] = api.client.get("/_sandbox/webhook/deliveries").json["deliveries"]
    assert (delivery["trigger_id"], delivery["ticket_id"]) == (trigger["id"], ticket["id"])
    assert delivery["status"] == "delivered"


def test_no_webhook_is_sent_without_a_trigger_or_to_an_inactive_webhook(api):
    webhook = api.post("/api/v2/webhooks", json={"webhook": {
        "name": "App", "endpoint": "http://127.0.0.1:9/hook", "http_method": "POST", "request_format": "json",
        "status": "inactive", "subscriptions": ["conditional_ticket_events"]}}).json["webhook"]
    create(api)
    add_trigger(api, "Tell", [{"field": "notification_webhook", "value": [webhook["id"], "{}"]}], all_of=[CREATED])
    create(api)
    assert api.sandbox.webhooks.wait_idle(10)
    assert api.state.deliveries == []
