"""At the CLI, bad config or a bad Zendesk is one plain line, a non-zero exit, no secret, no traceback."""

import base64
import os
import subprocess
import sys
import time

import pytest

from app.incident.model import IncidentSpec
from app.incident.service import OutageDesk
from tests.faulty_zendesk import CUT_JSON, ECHO_MARK, EMPTY, HTML, FaultyZendesk, drip, echoing
from tests.faulty_zendesk import body as answer


def run_cli(tmp_path, *args, env=None, dotenv=None):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=tmp_path,
                          env={**base, **(env or {})}, capture_output=True, text=True, timeout=60)


NO_ZENDESK = ("ZENDESK_SUBDOMAIN (or ZENDESK_URL), ZENDESK_EMAIL and ZENDESK_API_TOKEN "
              "(or ZENDESK_OAUTH_TOKEN instead of the email and token) are not set")
SET_IT = "set it in the environment or .env (see Configuration in the README)"  # the next step of one variable
SET_THEM = "set them in the environment or .env (see Configuration in the README)"


def test_every_missing_zendesk_setting_is_named_in_one_line(tmp_path):
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API")
    assert result.returncode == 78
    assert result.stderr.splitlines() == [f"outage-desk: {NO_ZENDESK}; {SET_THEM}"]


def test_a_missing_token_is_named_and_read_from_dotenv_too(tmp_path):
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API",
                     dotenv="ZENDESK_SUBDOMAIN=acme\nZENDESK_EMAIL=api@acme.test\n")
    assert result.returncode == 78
    assert result.stderr.splitlines() == ["outage-desk: ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN instead of "
                                          f"the email and token) is not set; {SET_IT}"]


BAD_STORES = {
    "unknown kind": ("nosuchdb://outage:pa55word@db.example/desk", "names a kind of database SQLAlchemy does not know"),
    "driver not installed": ("postgresql+asyncpg://outage:pa55word@db.example/desk",
                             "needs the Python package asyncpg, which is not installed"),
    "not a url": ("outage:pa55word at db.example",
                  "is not a database URL such as postgresql://user@host/db or sqlite:///outage-desk.db"),
    "missing folder": ("sqlite:///{tmp}/no/such/folder/desk.db", "names a SQLite file in a folder that does not exist"),
    "a folder": ("sqlite:///{tmp}", "names a database that does not answer or refuses the connection"),
}


@pytest.mark.parametrize("bad", BAD_STORES, ids=list(BAD_STORES))
def test_a_bad_database_url_is_one_line_and_exit_78(tmp_path, bad):
    url, problem = BAD_STORES[bad]
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": url.format(tmp=tmp_path)})
    assert result.returncode == 78
    assert result.stderr.splitlines() == [f"outage-desk: DATABASE_URL {problem}; {SET_IT}"]
    assert "pa55word" not in result.stderr


def test_a_bad_database_url_and_missing_zendesk_settings_are_named_together(tmp_path):
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API",
                     env={"DATABASE_URL": "nosuchdb://x", "ZENDESK_TIMEOUT_SECONDS": "soon"})
    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        "outage-desk: ZENDESK_TIMEOUT_SECONDS must be a whole number; "
        f"DATABASE_URL names a kind of database SQLAlchemy does not know; {NO_ZENDESK}; {SET_THEM}"]


def test_negative_aftercare_weeks_are_one_line_and_exit_78(tmp_path):
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": f"sqlite:///{tmp_path}/desk.db",
                                              "OUTAGE_DESK_AFTERCARE_WEEKS": "-1"})
    assert result.returncode == 78
    assert result.stderr.splitlines() == [f"outage-desk: OUTAGE_DESK_AFTERCARE_WEEKS must not be negative; {SET_IT}"]


def test_agent_settings_zendesk_would_refuse_are_named_at_start(tmp_path):
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
                                               "OUTAGE_DESK_OUTAGE_CHATS_PER_AGENT": "50",
                                               "OUTAGE_DESK_OUTAGE_WRAP_UP_SECONDS": "-30",
                                               "OUTAGE_DESK_VOICE_GREETING_CALLS": "-1"})
    assert result.returncode == 78
    assert result.stderr.splitlines() == [
        "outage-desk: OUTAGE_DESK_VOICE_GREETING_CALLS and OUTAGE_DESK_OUTAGE_WRAP_UP_SECONDS must not "
        f"be negative; OUTAGE_DESK_OUTAGE_CHATS_PER_AGENT must be from 0 to 20 (Zendesk Chat's limit); {SET_THEM}"]


def test_an_argument_that_is_not_utf8_is_one_line_and_exit_2(tmp_path):
    # From a Latin-1 terminal: "Mise à jour" arrives as bytes Python cannot decode as UTF-8.
    result = run_cli(tmp_path, "schedule", "--title", "Mise \xe0 jour".encode("latin-1"), "--query", "API",
                     "--start", "2031-01-01T00:00:00Z", env={"DATABASE_URL": f"sqlite:///{tmp_path}/s.db"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["outage-desk: an argument is not UTF-8 text: "
                                          "set the terminal to UTF-8"]


def test_a_routing_alert_margin_that_would_never_re_arm_is_named_at_start(tmp_path):
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
                                               "OUTAGE_DESK_VOICE_ALERT_CALLS": "5",
                                               "OUTAGE_DESK_VOICE_ALERT_MARGIN": "8"})
    assert result.returncode == 78
    assert result.stderr.splitlines() == ["outage-desk: OUTAGE_DESK_VOICE_ALERT_MARGIN must not be more "
                                          f"than OUTAGE_DESK_VOICE_ALERT_CALLS; {SET_IT}"]


def test_status_needs_the_store_only(tmp_path, config, sessions, clock):
    desk = OutageDesk(config, sessions, None, clock)  # the sidebar's declare: recorded, no Zendesk call yet
    desk.open_incident(IncidentSpec(title="API down", query="API", started_at=clock.now()), origin_ticket_id=42)
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": config.database_url, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "API down" in result.stdout and "declared" in result.stdout


def test_a_malformed_url_is_refused_without_echoing_secrets(tmp_path):
    env = {"ZENDESK_URL": "ftp://proxy", "ZENDESK_API_TOKEN": "s3cr3t-token-value", "ZENDESK_EMAIL": "a@b.c"}
    result = run_cli(tmp_path, "status", env=env)
    assert result.returncode == 78
    assert "ZENDESK_URL must start with http:// or https://" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    env = {"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@b.c", "ZENDESK_API_TOKEN": "t"}
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API", "--since", "yesterday", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == ("outage-desk: --since must be an ISO 8601 time such as "
                                     "2026-11-22T10:00:00Z")


BAD_ANSWERS = {
    "html": (HTML, f"is not JSON ({len(HTML.body)} bytes of text/html)"),
    "cut-off json": (CUT_JSON, f"is not JSON ({len(CUT_JSON.body)} bytes of application/json)"),
    "empty": (EMPTY, "is not JSON (an empty body)"),
    "null list": (answer('{"ticket_fields": null}'), "('ticket_fields' is not a list of objects)"),
    "a list": (answer('[{"id": 1}]'), "is not a JSON object"),
    "field without id": (answer('{"ticket_fields": [{"title": "Contact reason", "type": "tagger"}]}'),
                         "(KeyError: 'id')"),
}


@pytest.fixture
def faulty():
    zendesk = FaultyZendesk()
    yield zendesk
    zendesk.close()


def zendesk_env(faulty, **overrides):
    return {"ZENDESK_URL": faulty.url, "ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@b.c",
            "ZENDESK_API_TOKEN": "secret-token-value", **overrides}


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=list(BAD_ANSWERS))
def test_a_bad_answer_from_zendesk_is_one_line_and_exit_4(tmp_path, faulty, bad):
    fault, problem = BAD_ANSWERS[bad]
    faulty.fail("/api/v2/ticket_fields.json", fault)
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API", env=zendesk_env(faulty))
    assert result.returncode == 4, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("outage-desk: Zendesk's answer to GET /api/v2/ticket_fields.json ")
    assert problem in line
    assert line.endswith("nothing is lost: run the same command again to carry on")  # what the operator does
    assert faulty.count("/api/v2/ticket_fields.json") == 3  # tried twice more, then given up


def test_a_zendesk_that_drips_its_answer_ends_at_the_deadline_with_exit_4(tmp_path, faulty):
    faulty.fail("/api/v2/ticket_fields.json", drip(1.0))
    started = time.monotonic()
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API",
                     env=zendesk_env(faulty, ZENDESK_TIMEOUT_SECONDS="2"))
    # Two attempts of 2 s and a backoff of at most a second, plus the interpreter's start.
    assert time.monotonic() - started < 12
    assert result.returncode == 4
    assert result.stderr.splitlines() == [
        "outage-desk: Zendesk took longer than 2 s to answer GET /api/v2/ticket_fields.json; "
        "nothing is lost: run the same command again to carry on"]


ECHOED = {"401 with the header as its code": (401, None, "Zendesk answered 401 to "),
          "422 with a code": (422, "RecordInvalid", "Zendesk answered 422 (RecordInvalid) to "),
          "500 with the header as its code": (500, None, "Zendesk answered 500 to ")}


@pytest.mark.parametrize("case", ECHOED, ids=list(ECHOED))
def test_an_error_page_that_echoes_the_credentials_is_named_not_quoted(tmp_path, faulty, case):
    status, code, named = ECHOED[case]
    token = "Q3vN8hKfZ2rW7yLm4pTd9sXc6bJa1uGe5oHi0kRz"  # Zendesk's tokens: 40 letters and digits
    faulty.fail("/api/v2/ticket_fields.json", echoing(status, code))
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API",
                     env=zendesk_env(faulty, ZENDESK_EMAIL="admin@acme.test", ZENDESK_API_TOKEN=token))
    assert result.returncode in (4, 77), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"outage-desk: {named}GET /api/v2/ticket_fields.json"), line
    basic = base64.b64encode(f"admin@acme.test/token:{token}".encode()).decode()
    output = result.stdout + result.stderr
    for secret in (token, token[-8:], basic, basic[:12], "admin@acme.test/token", "Basic", ECHO_MARK):
        assert secret not in output


USAGE = {"missing option": (("declare", "--title", "API down"),
                            "outage-desk declare: missing option '--query' (see outage-desk declare --help)"),
         "bad value": (("declare", "--title", "API down", "--query", "API", "--severity", "9"),
                       "outage-desk declare: invalid value for '--severity': 9 is not in the range 1<=x<=4 "
                       "(see outage-desk declare --help)"),
         "unknown command": (("declair",), "outage-desk: no such command 'declair'. Did you mean 'declare'? "
                                           "(see outage-desk --help)")}


def test_the_command_alone_prints_its_help_whole(tmp_path):
    result = run_cli(tmp_path)
    assert result.stderr.startswith("Usage: outage-desk [OPTIONS] COMMAND [ARGS]...")
    assert "  declare " in result.stderr  # the list of commands, a line each, not folded into one


@pytest.mark.parametrize("case", USAGE, ids=list(USAGE))
def test_a_usage_error_is_one_line_naming_the_help_and_exit_2(tmp_path, case):
    args, said = USAGE[case]
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [said]


def test_a_state_error_names_no_class_and_says_where_to_look(tmp_path):
    result = run_cli(tmp_path, "resolve", env={"DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
                                                "ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": "a@b.c",
                                                "ZENDESK_API_TOKEN": "t", "OUTAGE_DESK_REFERENT": "r@b.c"})
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("outage-desk: ") and "Error" not in line
    assert line.endswith("; `outage-desk status` shows where things stand")


def test_status_reads_whole_at_80_columns(tmp_path, config, sessions, clock):
    desk = OutageDesk(config, sessions, None, clock)
    desk.open_incident(IncidentSpec(title="Checkout API returns 502 for EU customers", query="API",
                                    started_at=clock.now()), origin_ticket_id=42)
    result = run_cli(tmp_path, "status", env={"DATABASE_URL": config.database_url, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert clock.now().strftime("%Y-%m-%d %H:%M") in result.stdout  # the start time, not cut off
