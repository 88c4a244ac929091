"""The CLI against a live sandbox: what an admin types and reads."""

import csv
import io
import json
import os
import subprocess
import sys

from tests.conftest import SECRET_KEY, mode
from tests.scenarios.conftest import API_EMAIL, API_TOKEN


def outage_desk(account, tmp_path, *args, token=API_TOKEN, env_overrides=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    env.update(ZENDESK_URL=account.url, ZENDESK_SUBDOMAIN="acme", ZENDESK_EMAIL=API_EMAIL, ZENDESK_API_TOKEN=token,
               OUTAGE_DESK_REFERENT=str(account.seed.referent_id), DATABASE_URL=f"sqlite:///{tmp_path}/cli.db",
               OUTAGE_DESK_SECRET_KEY=SECRET_KEY, COLUMNS="200")
    env.update(env_overrides or {})
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_declare_status_dry_run_then_resolve(account, tmp_path):
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    declared = outage_desk(account, tmp_path, "declare", "--title", "API down", "--query", "API", "--since", since)
    assert declared.returncode == 0, declared.stderr
    assert "Declared incident #1" in declared.stdout

    status = outage_desk(account, tmp_path, "status")
    assert "API down" in status.stdout and "declared" in status.stdout

    mark = len(account.state.emails)
    dry = outage_desk(account, tmp_path, "resolve", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "to notify" in dry.stdout and "abandoned" in dry.stdout and "Callback list" in dry.stdout
    assert account.emails_since(mark) == []

    resolved = outage_desk(account, tmp_path, "resolve")
    assert resolved.returncode == 0, resolved.stderr
    assert "notified" in resolved.stdout and len(account.emails_since(mark)) > 0


def test_a_wrong_token_is_one_line_exit_77_and_never_printed(account, tmp_path):
    result = outage_desk(account, tmp_path, "declare", "--title", "API down", "--query", "API",
                         token="wrong-token-value")
    assert result.returncode == 77
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("outage-desk: Zendesk answered 401") and "Error" not in result.stderr
    assert result.stderr.strip().endswith("check ZENDESK_EMAIL and the API token, "
                                          "and that the user may do this in Zendesk")
    assert "wrong-token-value" not in result.stderr + result.stdout


def test_the_report_after_resolve_says_who_was_notified_in_every_format(account, tmp_path):
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    outage_desk(account, tmp_path, "declare", "--title", "API <down>", "--query", "API", "--since", since)
    mark = len(account.state.emails)
    assert outage_desk(account, tmp_path, "resolve").returncode == 0
    emailed = {e["ticket_id"] for e in account.emails_since(mark)}

    as_json = outage_desk(account, tmp_path, "report", "--format", "json")
    as_csv = outage_desk(account, tmp_path, "report", "--format", "csv")
    as_html = outage_desk(account, tmp_path, "report", "--output", "report.html")

    assert as_json.returncode == as_csv.returncode == as_html.returncode == 0, as_json.stderr + as_html.stderr
    report = json.loads(as_json.stdout)
    summary = report["summary"]
    assert {t["ticket_id"] for t in report["tickets"] if t["notification"] == "sent"} == emailed
    assert sum(summary["notified"].values()) == len(emailed)
    assert summary["tickets"] == len(report["tickets"]) == sum(summary["by_channel"].values())
    assert sum(bucket["tickets"] for bucket in report["volume"]) == summary["tickets"]
    assert summary["time_to_notify_seconds"]["max"] >= summary["time_to_notify_seconds"]["median"] >= 0
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {int(r["ticket_id"]) for r in rows if r["notification"] == "sent"} == emailed
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and "API &lt;down&gt;" in page and "API <down>" not in page


def test_the_store_and_reports_the_cli_writes_are_private_and_an_existing_file_keeps_its_mode(account, tmp_path,
                                                                                             shell_umask):
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert outage_desk(account, tmp_path, "declare", "--title", "API down", "--query", "API", "--since",
                       since).returncode == 0
    shared = tmp_path / "shared.csv"
    shared.write_text("")
    shared.chmod(0o644)

    written = outage_desk(account, tmp_path, "report", "--output", "report.html")
    rewritten = outage_desk(account, tmp_path, "report", "--format", "csv", "--output", "shared.csv")

    assert written.returncode == rewritten.returncode == 0, written.stderr + rewritten.stderr
    assert mode(tmp_path / "cli.db") == mode(tmp_path / "report.html") == 0o600
    assert mode(shared) == 0o644 and shared.read_text().startswith("ticket_id")


def test_report_without_any_incident_is_one_line_and_exit_3(account, tmp_path):
    result = outage_desk(account, tmp_path, "report")
    assert result.returncode == 3
    assert result.stderr.strip() == ("outage-desk: no incident yet: nothing to report; "
                                     "`outage-desk status` shows where things stand")


def test_markup_in_a_title_or_a_phone_number_is_printed_as_written(account, tmp_path):
    title = "API [/x] down [bold]for :warning: [link=https://evil.example]everyone"
    phone = "+33 [/x] 6 [bold]12 [link=https://evil.example]34"
    wide = {"COLUMNS": "400"}  # the title's cell whole on one line
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    declared = outage_desk(account, tmp_path, "declare", "--title", title, "--query", "API", "--since", since)
    assert declared.returncode == 0, declared.stderr
    caller = account.write_in("Call: the API is down", email=None, name=phone, channel="voice", voice_rel="voicemail")
    attached = outage_desk(account, tmp_path, "attach", str(caller))
    assert attached.returncode == 0, attached.stderr

    status = outage_desk(account, tmp_path, "status", env_overrides=wide)
    assert status.returncode == 0, status.stderr
    assert title in status.stdout

    resolved = outage_desk(account, tmp_path, "resolve", env_overrides=wide)
    assert resolved.returncode == 0, resolved.stderr
    lines = resolved.stdout.splitlines()
    [header] = [i for i, line in enumerate(lines) if line.startswith("Callback list (")]
    listed = int(lines[header].split("(")[1].split()[0])
    callbacks = lines[header + 1:header + 1 + listed]
    assert len(callbacks) == listed > 1 and all(line.startswith("  ticket #") for line in callbacks)
    assert f"  ticket #{caller}: {phone}" in callbacks


def test_declare_without_a_referent_says_no_acknowledgement_went_out_and_why(account, tmp_path):
    since = account.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    declared = outage_desk(account, tmp_path, "declare", "--title", "API down", "--query", "API", "--since", since,
                           env_overrides={"OUTAGE_DESK_REFERENT": ""})
    assert declared.returncode == 0, declared.stderr
    why = "it goes out in the product referent's name, and none is set (OUTAGE_DESK_REFERENT or --referent)"
    # The warning says why in words, once, not an event name; the summary repeats what did not happen.
    assert declared.stderr.splitlines() == [f"outage-desk: warning: no customer is sent an acknowledgement: {why}"]
    assert f"(no acknowledgement went out: {why})" in " ".join(declared.stdout.split())
