"""A declare whose later calls get answers of the wrong shape: one line, exit 4, whatever call it was."""

import pytest

from tests.faulty_zendesk import FaultyZendesk
from tests.faulty_zendesk import body as answer
from tests.scenarios.test_cli import outage_desk

LATER_CALLS = {
    "search export without results": ("/api/v2/search/export.json", '{"results": null, "meta": {"has_more": false}}',
                                      "GET /api/v2/search/export.json is not what we expect ('results' is not a "
                                      "list of objects)"),
    "job status without id": ("/api/v2/tickets/update_many.json", '{"job_status": {"status": "queued"}}',
                              "PUT /api/v2/tickets/update_many.json is not what we expect ('id' is missing"),
    # Before it creates the problem ticket, declare asks whether a killed run made it already.
    "problem ticket look-up of the wrong shape": ("/api/v2/tickets.json", '{"ticket": {"subject": "[Outage] API down"}}',
                                                  "GET /api/v2/tickets.json is not what we expect ('tickets' is not "
                                                  "a list of objects)"),
}


@pytest.fixture
def proxy(account):
    zendesk = FaultyZendesk(upstream=account.url)
    yield zendesk
    zendesk.close()


@pytest.mark.parametrize("call", LATER_CALLS, ids=list(LATER_CALLS))
def test_a_wrong_shape_later_in_declare_is_one_line_and_exit_4(account, proxy, tmp_path, call):
    path, text, problem = LATER_CALLS[call]
    proxy.fail(path, answer(text))
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = outage_desk(account, tmp_path, "declare", "--title", "API down", "--query", "API", "--since", since,
                         env_overrides={"ZENDESK_URL": proxy.url})
    assert result.returncode == 4, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("outage-desk: Zendesk's answer to ") and problem in line
    assert "scenario-token" not in result.stderr + result.stdout
