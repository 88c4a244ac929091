"""The search query parser and matcher used by the sandbox and by the webhook intake."""

from __future__ import annotations

import pytest

from app.zendesk.query import QueryError, parse


def ticket(**fields) -> dict:
    base = {
        "subject": "L'API est en panne",
        "description": "Depuis ce matin: erreur 503 sur tous les appels.",
        "tags": ["vip"],
        "status": "open",
        "priority": "normal",
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:30:00Z",
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "type": None,
        "assignee_id": None,
        "requester_id": 42,
    }
    return {**base, **fields}


def matches(query: str, requester: dict | None = None, **fields) -> bool:
    return parse(query).matches(ticket(**fields), requester)


def test_free_words_must_all_appear_in_subject_or_description_case_insensitively():
    assert matches("api")
    assert matches("API 503")
    assert not matches("API billing")


def test_words_match_whole_words_not_substrings():
    assert not matches("rapi")
    assert matches("api", subject="Question sur l'API")
    assert not matches("api", subject="Réponse rapide")


def test_accents_are_ignored_like_the_search_index():
    assert matches("caida", subject="La API está caída")
    assert matches("caída", subject="La API esta caida")


def test_quoted_phrase_matches_as_a_unit():
    assert matches('"erreur 503"')
    assert not matches('"503 erreur"')


def test_negated_word_excludes():
    assert not matches("API -panne")
    assert matches("API -billing")


def test_several_tags_terms_are_or_and_a_quoted_tags_term_is_and():
    assert matches("tags:vip tags:other")
    assert not matches('tags:"vip other"')
    assert matches('tags:"vip other"', tags=["other", "vip"])
    assert not matches("-tags:vip")
    assert matches("tags:none", tags=[])


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("status:open", "open", True),
        ("status<solved", "hold", True),
        ("status<solved", "solved", False),
        ("status<=solved", "solved", True),
        ("status>pending", "hold", True),
        ("status>=closed", "solved", False),
    ],
)
def test_status_comparisons_follow_zendesk_order(query, status, expected):
    assert matches(query, status=status) is expected


def test_priority_comparisons_and_none():
    assert matches("priority>low", priority="normal")
    assert not matches("priority>=high", priority="normal")
    assert not matches("priority>low", priority=None)
    assert matches("priority:none", priority=None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("created>2026-11-22T09:59:59Z", True),
        ("created>2026-11-22T10:00:00Z", False),
        ("created>=2026-11-22T10:00:00Z", True),
        ("created<2026-11-22T11:00:00+01:00", False),
        ("created:2026-11-22", True),
        ("created>2026-11-21", True),
        ("created>2026-11-22", False),
        ("created<=2026-11-22", True),
        ("updated>2026-11-22T10:15:00Z", True),
    ],
)
def test_time_comparisons(query, expected):
    assert matches(query) is expected


@pytest.mark.parametrize(
    ("query", "channel", "rel", "expected"),
    [
        ("via:mail", "email", None, True),
        ("via:email", "email", None, True),
        ("via:chat", "email", None, False),
        ("via:phone", "voice", "voicemail", True),
        ("via:phone", "voice", "inbound", True),
        ("via:voicemail", "voice", "inbound", False),
        ("via:phone_call_inbound", "voice", "inbound", True),
        ("via:phone_call_outbound", "voice", "outbound", True),
        ("via:native_messaging", "native_messaging", None, True),
        ("via:web", "web", None, True),
        ("via:api", "api", None, True),
    ],
)
def test_via_keywords_map_onto_channel_and_voice_rel(query, channel, rel, expected):
    assert matches(query, via={"channel": channel, "source": {"rel": rel}}) is expected


def test_ticket_type_assignee_requester_subject():
    assert matches("ticket_type:incident", type="incident")
    assert not matches("ticket_type:problem", type="incident")
    assert matches("assignee:none")
    assert matches("assignee:7", assignee_id=7)
    assert matches("requester:42")
    assert matches("requester:Ana@Example.com", requester={"email": "ana@example.com"})
    assert not matches("requester:ana@example.com", requester=None)
    assert matches("subject:panne")
    assert not matches("subject:503")


def test_type_keyword_is_flagged_for_search_export():
    assert parse("type:ticket API").has_type_keyword
    assert not parse("API").has_type_keyword


def test_order_by_and_sort_are_read_not_matched():
    query = parse("API order_by:updated sort:asc")
    assert (query.order_by, query.sort) == ("updated_at", "asc")
    assert query.matches(ticket(), None)


@pytest.mark.parametrize(
    "query",
    [
        "group:support",
        "status:broken",
        "via:voice",
        "priority<none",
        'API "unbalanced',
        "created>4hours",
        "assignee:me",
    ],
)
def test_unsupported_syntax_raises_query_error(query):
    with pytest.raises(QueryError):
        parse(query)


def test_query_error_is_a_value_error():
    assert issubclass(QueryError, ValueError)
