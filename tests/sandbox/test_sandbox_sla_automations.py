"""SLA policies and automations as Zendesk documents them: checked when saved, measured and run on the clock."""

import pytest

from .support import create, update

PREMIUM = {"title": "Premium", "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "vip"}],
                                          "any": []},
           "policy_metrics": [{"priority": "normal", "metric": "first_reply_time", "target": 30,
                               "business_hours": False}]}
BREACHED = {"title": "Breached", "conditions": {"all": [
    {"field": "sla_next_breach_at", "operator": "greater_than", "value": "0"},
    {"field": "current_tags", "operator": "not_includes", "value": "escalated"}], "any": []},
    "actions": [{"field": "priority", "value": "high"}, {"field": "current_tags", "value": "escalated"}]}


def run(api) -> list[int]:
    return [fired["ticket_id"] for fired in api.client.post("/_sandbox/automations/run").json["fired"]]


def test_a_policy_lists_with_its_target_in_seconds_and_new_ones_go_last(api):
    first = api.post("/api/v2/slas/policies", json={"sla_policy": PREMIUM})
    second = api.post("/api/v2/slas/policies", json={"sla_policy": {**PREMIUM, "title": "Other"}})
    assert first.status_code == second.status_code == 201
    listed = api.get("/api/v2/slas/policies").json["sla_policies"]
    assert [(p["title"], p["position"]) for p in listed] == [("Premium", 1), ("Other", 2)]
    assert listed[0]["policy_metrics"][0]["target_in_seconds"] == 1800

    reordered = api.put("/api/v2/slas/policies/reorder", json={"sla_policy_ids": [listed[1]["id"], listed[0]["id"]]})
    assert reordered.status_code == 200
    assert [p["title"] for p in api.get("/api/v2/slas/policies").json["sla_policies"]] == ["Other", "Premium"]
    assert api.put("/api/v2/slas/policies/reorder", json={"sla_policy_ids": [listed[0]["id"]]}).status_code == 422


@pytest.mark.parametrize("metric, says", [
    ({"priority": "normal", "metric": "first_reply_time", "target": 30, "business_hours": True}, "business hours"),
    ({"priority": "normal", "metric": "first_reply_time", "target": 0}, "positive"),
    ({"priority": "whenever", "metric": "first_reply_time", "target": 30}, "priority")])
def test_a_policy_the_sandbox_could_not_measure_is_refused(api, metric, says):
    response = api.post("/api/v2/slas/policies", json={"sla_policy": {**PREMIUM, "policy_metrics": [metric]}})
    assert response.status_code == 422
    assert says in str(response.json["details"])


def test_an_automation_must_test_time_and_nullify_a_condition(api):
    untimed = {**BREACHED, "conditions": {"all": BREACHED["conditions"]["all"][1:], "any": []}}
    assert "time-based" in str(api.post("/api/v2/automations", json={"automation": untimed}).json)
    endless = {**BREACHED, "actions": [{"field": "priority", "value": "high"}]}
    assert "nullify" in str(api.post("/api/v2/automations", json={"automation": endless}).json)
    assert api.post("/api/v2/automations", json={"automation": BREACHED}).status_code == 201


def test_a_breach_is_the_first_reply_target_passed_under_the_policy_the_ticket_matches(api, clock, agent):
    api.post("/api/v2/slas/policies", json={"sla_policy": PREMIUM})
    api.post("/api/v2/automations", json={"automation": BREACHED})
    late = create(api, priority="normal", tags=["vip"])
    answered = create(api, priority="normal", tags=["vip"])
    other = create(api, priority="normal")
    clock.advance(10 * 60)
    update(api, answered["id"], comment={"body": "On it", "public": True, "author_id": agent["id"]})
    clock.advance(21 * 60)

    assert run(api) == [late["id"]]
    assert api.get(f"/api/v2/tickets/{late['id']}").json["ticket"]["priority"] == "high"
    assert run(api) == []  # the tag it added nullifies it
    assert api.get(f"/api/v2/tickets/{other['id']}").json["ticket"]["priority"] == "normal"


def test_a_ticket_that_leaves_every_policy_has_no_breach_until_it_comes_back(api, clock):
    api.post("/api/v2/slas/policies", json={"sla_policy": PREMIUM})
    api.post("/api/v2/automations", json={"automation": BREACHED})
    ticket = create(api, priority="normal", tags=["vip"])
    update(api, ticket["id"], remove_tags=["vip"])
    clock.advance(31 * 60)
    assert run(api) == []
    update(api, ticket["id"], additional_tags=["vip"])
    assert run(api) == [ticket["id"]]  # measured from its creation again


@pytest.fixture
def agent(api):
    return api.state.add_user("Agent", email="agent@example.com", role="agent")
