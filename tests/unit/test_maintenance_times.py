"""When a maintenance window starts by default, and how long an admin may say it lasts."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.errors import InputError
from app.incident.maintenance import next_default_start, parse_duration

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("now, expected", [
    ("2026-12-09T15:00:00+01:00", "2026-12-12T02:00:00+01:00"),  # a Wednesday: that week's Saturday
    ("2026-12-12T01:59:00+01:00", "2026-12-12T02:00:00+01:00"),  # Saturday, before 02:00: tonight
    ("2026-12-12T02:00:00+01:00", "2026-12-19T02:00:00+01:00"),  # Saturday at 02:00: it is now, so next week
    ("2026-12-11T23:30:00+00:00", "2026-12-12T02:00:00+01:00"),  # Friday in UTC, already Saturday in Paris
    ("2027-03-24T12:00:00+01:00", "2027-03-27T02:00:00+01:00"),  # the night before summer time
    ("2027-03-28T12:00:00+02:00", "2027-04-03T02:00:00+02:00"),  # after it: 02:00 is an hour nearer UTC
])
def test_the_default_start_is_the_next_saturday_at_two_in_the_accounts_time_zone(now, expected):
    start = next_default_start(datetime.fromisoformat(now), PARIS)
    assert start == datetime.fromisoformat(expected) and start.tzinfo == timezone.utc


@pytest.mark.parametrize("text, minutes", [("20m", 20), ("5min", 5), ("1h", 60), ("1h30m", 90), (" 45M ", 45)])
def test_durations_in_minutes_and_hours(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "20", "twenty", "0m", "0h0m", "-5m", "20s", "1.5h"])
def test_other_durations_are_refused_naming_the_option(text):
    with pytest.raises(InputError, match="--duration"):
        parse_duration(text)
