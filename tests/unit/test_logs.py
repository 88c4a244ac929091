"""The one log format: an event and its `extra` fields on one logfmt line."""

import io
import logging

import pytest

from app.errors import ZendeskBadAnswer
from app.logs import LogfmtFormatter


@pytest.fixture
def log_output():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def test_extra_fields_follow_the_event_quoted_only_when_they_must_be(log_output):
    logger, stream = log_output
    logger.warning("incident.take-in-failed", extra={"ticket": 123, "reason": 'ClosedTicket: "closed"\nfor good',
                                                     "retry_in": 2.0, "tickets": (1, 2, 3), "status": None})
    [line] = stream.getvalue().splitlines()
    assert line.split(" ", 2)[1:] == ['WARNING', 'incident.take-in-failed ticket=123 '
                                      'reason="ClosedTicket: \\"closed\\"\\nfor good" retry_in=2 tickets=1,2,3 '
                                      'status=null']


def test_an_errors_log_fields_name_its_call(log_output):
    logger, stream = log_output
    error = ZendeskBadAnswer("Zendesk's answer to GET /api/v2/tickets/show_many.json is not JSON: '<html>'",
                             endpoint="GET /api/v2/tickets/show_many.json")
    error.tickets = (5, 6)
    logger.warning("jobs.failed", extra={"job": "drain_inbox", **error.log_fields()})
    assert stream.getvalue().rstrip().endswith(
        'jobs.failed job=drain_inbox error=ZendeskBadAnswer endpoint="GET /api/v2/tickets/show_many.json" '
        'status=null tickets=5,6')
