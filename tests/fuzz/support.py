"""Shared pieces of the fuzz tests: settings, store snapshots, response checks, text strategies, id verdicts."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, got_request_exception
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.store.tables import Base

# The fixtures (app, client, database) are function-scoped and shared by every example of one
# test: each test measures deltas against a snapshot taken inside the example, never absolutes.
# Example counts are set per test so that the whole folder runs in well under a minute.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def fuzz_examples(count: int) -> settings:
    return settings(FUZZ, max_examples=count)


def store_snapshot(sessions) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing was written."""
    snapshot = {}
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def json_reply(response) -> dict[str, Any]:
    """The response's JSON object; fails the example when it is not one."""
    assert response.mimetype == "application/json", (response.status_code, response.mimetype, response.data[:200])
    body = json.loads(response.data)
    assert isinstance(body, dict), body
    return body


def record_app_errors(app: Flask) -> list[BaseException]:
    """The exceptions the app did not handle (each became a 500), newest last."""
    errors: list[BaseException] = []

    def _record(sender, exception, **extra):
        errors.append(exception)

    got_request_exception.connect(_record, app, weak=False)
    return errors


def assert_not_5xx(response, app_errors: list[BaseException]) -> None:
    """No 5xx; on one, the failure is chained to the app's own exception, so that hypothesis tells
    distinct bugs apart (it keys failures on the whole exception chain) and the report shows the cause."""
    if response.status_code < 500:
        return
    cause = app_errors[-1] if app_errors else None
    app_errors.clear()
    raise AssertionError(f"{response.status_code} {response.data[:300]!r}; the app raised {cause!r}") from cause


# Header values as a WSGI server hands them over: Latin-1 decoded bytes, no control characters.
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                      max_size=60)

# Strings that look numeric to str.isdigit(), str.isnumeric() or int() without being plain ASCII digits:
# other scripts' digits, superscripts, fractions, odd spaces, signs and separators.
digitish_text = st.one_of(
    st.text(alphabet=st.characters(categories=["Nd", "No", "Zs"]) | st.sampled_from("0123456789+-_ ."),
            min_size=1, max_size=8),
    st.text(alphabet=st.characters(categories=["Nd", "No"]).filter(str.isdigit), min_size=1, max_size=4),
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=6)


def id_verdict(value, plain: re.Pattern) -> str:
    """"valid", "invalid" or "unclear" for a ticket id, written from the contract rather than from the
    parser: `plain` is what a valid id string looks like; digits of other scripts are left unclear,
    since the contract does not settle them."""
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, int):
        return "valid" if 0 < value < 2 ** 63 else "invalid"
    if not isinstance(value, str):
        return "invalid"
    if plain.fullmatch(value):
        return "valid" if 0 < int(value) < 2 ** 63 else "invalid"
    return "invalid" if not any(ch.isdigit() or ch.isnumeric() for ch in value) else "unclear"
