"""The runbook's rules: urgency only ever raised, one closing group per ticket, the right language."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InputError
from app.incident.model import (
    LEVEL_BY_PRIORITY, Audience, IncidentSpec, audience_of, closing_language, impact_level, raised_priority,
)

priorities = st.sampled_from([None, "low", "normal", "high", "urgent"])
levels = st.integers(min_value=1, max_value=4)


@given(current=priorities, impact=st.none() | levels, incident=levels, new_customer=st.booleans())
def test_priority_is_only_ever_raised(current, impact, incident, new_customer):
    new = raised_priority(current, impact, incident, new_customer)
    final = new or current
    assert LEVEL_BY_PRIORITY[final] <= min(x for x in (incident, impact) if x is not None) - new_customer or (
        LEVEL_BY_PRIORITY[final] == 1)
    if current is not None:
        assert LEVEL_BY_PRIORITY[final] <= LEVEL_BY_PRIORITY[current]


def test_the_more_urgent_of_ticket_impact_and_incident_wins():
    assert raised_priority("low", 1, 2) == "urgent"
    assert raised_priority(None, None, 2) == "high"
    assert raised_priority("urgent", 4, 3) is None  # never lowered, nothing to write


def test_a_new_customer_goes_one_level_higher_than_anyone_else():
    assert raised_priority(None, None, 3, new_customer=True) == "high"
    assert raised_priority("low", 2, 3, new_customer=True) == "urgent"
    assert raised_priority(None, 1, 2, new_customer=True) == "urgent"  # there is nothing above urgent


def test_impact_level_reads_the_option_tag():
    assert impact_level("impact_1") == 1
    assert impact_level("business_impact_level_3") == 3
    assert impact_level(None) is None and impact_level("none") is None


def test_each_ticket_falls_in_exactly_one_closing_group():
    assert audience_of(("voice_abandoned_in_queue",), "voice", "inbound", 5) == Audience.ABANDONED
    assert audience_of((), "voice", "voicemail", None) == Audience.ABANDONED
    assert audience_of((), "voice", "inbound", None) == Audience.UNASSIGNED
    assert audience_of((), "email", None, 7) == Audience.ASSIGNED


def test_an_assigned_voicemail_is_its_agents_not_an_abandoned_call():
    # Abandoned is what Talk says (its tags), or a voicemail nobody took; one an agent took is theirs.
    assert audience_of((), "voice", "voicemail", 7) == Audience.ASSIGNED
    assert audience_of(("voice_abandoned_in_voicemail",), "voice", "voicemail", 7) == Audience.ABANDONED


def test_language_exact_then_base_then_default():
    available = {"en", "fr", "es", "ru", "de", "pt-BR"}
    assert closing_language("pt-BR", available, "en") == "pt-BR"
    assert closing_language("fr-CA", available, "en") == "fr"
    assert closing_language("pt", available, "en") == "pt-BR"
    assert closing_language("ja", available, "en") == "en"
    assert closing_language(None, available, "en") == "en"
    assert closing_language("ja", {""}, "en") == ""


def test_an_incident_refuses_text_the_store_could_not_hold():
    start = datetime(2026, 11, 22, tzinfo=timezone.utc)
    with pytest.raises(InputError, match="NUL"):
        IncidentSpec(title="API\x00down", query="API", started_at=start)
    with pytest.raises(InputError, match="longer than 200"):
        IncidentSpec(title="x" * 201, query="API", started_at=start)
