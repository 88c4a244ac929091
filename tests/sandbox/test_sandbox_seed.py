"""The seeded outage account: deterministic, realistic proportions, findable by the app's queries."""

from __future__ import annotations

import random
from datetime import timedelta

from zendesk_sandbox.seed import _Builder, _data, seed_outage
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.search_match import Matcher
from zendesk_sandbox.search_query import parse_query

from .support import OUTAGE_DESK_MACROS, T0

START, END = T0 - timedelta(hours=2), T0 - timedelta(minutes=5)


def seeded(count: int = 600, seed: int = 7) -> tuple[SandboxState, object]:
    state = SandboxState()
    return state, seed_outage(state, tickets=count, seed=seed, start=START, end=END, macros=OUTAGE_DESK_MACROS)


def test_same_seed_same_account():
    first_state, first = seeded(seed=5)
    second_state, second = seeded(seed=5)
    assert first == second
    assert first_state.tickets == second_state.tickets and first_state.users == second_state.users
    _, other = seeded(seed=6)
    assert other.outage_ticket_ids != first.outage_ticket_ids


class BoundedRandom(random.Random):
    """A seeded RNG that fails the test past `budget` draws, so a draw that would never end fails instead."""

    def __init__(self, seed: int, budget: int):
        super().__init__(seed)
        self.budget = budget

    def randrange(self, *args):
        self.budget -= 1
        assert self.budget >= 0, "the draw of an unused phone number did not end"
        return super().randrange(*args)


def test_phone_draws_go_on_with_unique_numbers_once_a_pattern_is_used_up(monkeypatch):
    # Ten numbers, used up by the eleventh caller, as "+1 415 555 ####" is past about 60,000 tickets.
    monkeypatch.setitem(_data("people.json")["en-US"], "phone", "+1 415 555 010#")

    def callers(seed: int) -> list[str]:
        state = SandboxState()
        builder = _Builder(state, BoundedRandom(seed, budget=100_000), START, END)
        phones = []
        for _ in range(40):
            phones.append(builder._phone("en-US"))
            state.add_user(phones[-1], phone=phones[-1], locale="en-US")
        return phones

    phones = callers(5)
    assert len(set(phones)) == 40
    assert {(phone[:7], len(phone)) for phone in phones} == {("+1 415 ", len("+1 415 555 0100"))}
    assert callers(5) == phones


def test_people_fields_and_macros(api):
    summary = seed_outage(api.state, tickets=50, start=START, end=END, macros=OUTAGE_DESK_MACROS)
    referent = api.state.user(summary.referent_id)
    assert (referent["name"], referent["email"], referent["role"]) == (
        "Camille Referent",
        "referent@example.com",
        "agent",
    )
    agents = [api.state.user(agent_id) for agent_id in summary.agent_ids]
    assert len(agents) == 6 and {agent["role"] for agent in agents} == {"agent"}
    assert len({agent["locale"] for agent in agents}) > 3
    contact = api.get(f"/api/v2/ticket_fields/{summary.contact_reason_field_id}").json["ticket_field"]
    assert contact["type"] == "tagger" and contact["title"] == "Contact reason"
    assert {"name": "Technical Issue::TI/Status Wavy", "value": "technical_issue__ti_status_wavy"}.items() <= next(
        option for option in contact["custom_field_options"] if option["value"] == "technical_issue__ti_status_wavy"
    ).items()
    impact = api.state.ticket_fields[summary.business_impact_field_id]
    assert [o["value"] for o in impact["custom_field_options"]] == ["impact_1", "impact_2", "impact_3", "impact_4"]
    assert impact["custom_field_options"][0]["name"] == "1 - Cannot use the product"
    assert len(api.get("/api/v2/ticket_fields").json["ticket_fields"]) == 2
    for language in ("en", "fr", "es", "ru", "de", "pt-BR"):
        assert f"Outage Desk closing ({language})" in summary.macro_ids
        assert f"Outage Desk acknowledgement ({language})" in summary.macro_ids


def test_proportions_look_like_an_outage():
    state, summary = seeded(count=2000)
    total = summary.tickets
    assert total == 2000 == len(state.tickets)
    assert 0.75 < len(summary.outage_ticket_ids) / total < 0.88
    assert 0.10 < (len(summary.noise_ticket_ids) + len(summary.api_question_ticket_ids)) / total < 0.20
    assert 0.015 < len(summary.internal_ticket_ids) / total < 0.05
    assigned = sum(1 for t in state.tickets.values() if t["assignee_id"])
    assert 0.33 < assigned / total < 0.48
    done = summary.by_status.get("solved", 0) + summary.by_status.get("closed", 0)
    assert 0.02 < done / total < 0.08
    assert {"email", "chat", "voice_inbound", "voicemail", "voice_abandoned"} <= set(summary.by_channel)
    assert {"fr", "en-US", "es", "ru", "de", "pt-BR"} <= set(summary.by_language)
    end_users = [u for u in state.users.values() if u["role"] == "end-user"]
    callers = [u for u in end_users if u["email"] is None]
    assert 0.10 < len(callers) / len(end_users) < 0.22
    assert all(u["name"] == u["phone"] for u in callers)
    assert summary.unknown_callers == len(callers)


def test_tickets_are_spread_between_start_and_end_with_ids_in_time_order():
    state, _ = seeded()
    tickets = sorted(state.tickets.values(), key=lambda t: t["id"])
    created = [t["created_at"] for t in tickets]
    assert created == sorted(created)
    assert created[0] >= "2026-11-22T08:00:00Z" and created[-1] <= "2026-11-22T09:55:00Z"
    assert all(t["updated_at"] >= t["created_at"] for t in tickets)


def test_outage_tickets_are_found_by_api_and_noise_is_not():
    state, summary = seeded()
    api_query = Matcher(parse_query("API"), state, me_id=1, now=T0)
    found = {t["id"] for t in state.tickets.values() if api_query.matches(t)}
    assert set(summary.outage_ticket_ids) <= found
    assert set(summary.internal_ticket_ids) <= found
    assert set(summary.api_question_ticket_ids) <= found
    assert not set(summary.noise_ticket_ids) & found


def test_abandoned_calls_carry_zendesk_tags_and_mention_the_api():
    state, _ = seeded()
    abandoned = [t for t in state.tickets.values() if t["subject"].startswith("Abandoned call from +")]
    assert abandoned
    for ticket in abandoned:
        assert {"voice_abandoned_in_queue", "voice_abandoned_in_ivr", "voice_abandoned_in_voicemail"} & set(
            ticket["tags"]
        )
        assert ticket["via"]["channel"] == "voice"
        assert "API" in ticket["description"]


def test_texts_are_in_the_requesters_language():
    state, summary = seeded()
    for ticket_id in summary.outage_ticket_ids:
        ticket = state.tickets[ticket_id]
        if ticket["via"]["channel"] != "email":
            continue
        locale = state.user(ticket["requester_id"])["locale"]
        text = (ticket["subject"] + ticket["description"]).lower()
        if locale == "ru":
            assert any("\u0400" <= ch <= "\u04ff" for ch in text)
        elif locale == "fr":
            assert any(word in text for word in ("panne", "erreur", "bonjour", "l'api"))


def test_some_tickets_have_business_impact_and_contact_reason_set_with_their_tags():
    state, summary = seeded()
    impact_id = summary.business_impact_field_id
    with_impact = [
        t for t in state.tickets.values() if any(f["id"] == impact_id and f["value"] for f in t["custom_fields"])
    ]
    assert with_impact
    for ticket in with_impact:
        value = next(f["value"] for f in ticket["custom_fields"] if f["id"] == impact_id)
        assert value in ticket["tags"]
    assert any("technical_issue__ti_status_wavy" in t["tags"] for t in state.tickets.values())


def test_seeding_sends_no_email_and_no_webhook():
    state, _ = seeded()
    assert state.emails == [] and state.deliveries == []
