"""At the CLI, bad config is one plain line naming the variable, a non-zero exit, no secret."""

import os
import subprocess
import sys


def run_cli(tmp_path, *args, env=None, dotenv=None):
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=tmp_path,
                          env={**base, **(env or {})}, capture_output=True, text=True, timeout=60)


def test_a_missing_subdomain_is_named_in_one_line(tmp_path):
    result = run_cli(tmp_path, "declare", "--title", "API down", "--query", "API")
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == ["outage-desk: ConfigError: ZENDESK_SUBDOMAIN is not set"]


def test_a_missing_token_is_named_and_read_from_dotenv_too(tmp_path):
    result = run_cli(tmp_path, "status", dotenv="ZENDESK_SUBDOMAIN=acme\nZENDESK_EMAIL=api@acme.test\n")
    assert result.returncode == 78
    assert result.stderr.strip() == "outage-desk: ConfigError: ZENDESK_API_TOKEN is not set"


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
    assert result.stderr.strip() == ("outage-desk: InputError: --since must be an ISO 8601 time such as "
                                     "2026-11-22T10:00:00Z")
