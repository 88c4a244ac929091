"""Fixtures of the fuzz tests; the app, client and database fixtures are the suite's (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.fuzz.support import record_app_errors


@pytest.fixture
def app_errors(app) -> list[BaseException]:
    """Unhandled exceptions of the suite's `app` (the one behind `client`)."""
    return record_app_errors(app)
