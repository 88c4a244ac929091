"""A newcomer starts the sandbox and pastes what it prints: the exports, then the declare it suggests."""

import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.state import SandboxState

TICKETS = 300
VARIABLES = {"ZENDESK_URL", "ZENDESK_SUBDOMAIN", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN", "OUTAGE_DESK_REFERENT",
             "OUTAGE_DESK_CHAT_OAUTH_TOKEN"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def a_shell(tmp_path: Path, columns: int) -> dict:
    """A terminal `columns` wide with `outage-desk` on its PATH and nothing of Outage Desk's set yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    env.update(COLUMNS=str(columns), PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
               DATABASE_URL=f"sqlite:///{tmp_path}/desk.db")
    return env


@pytest.fixture
def sandbox(tmp_path):
    """`outage-desk sandbox` running in a 40-column terminal, and the banner it printed."""
    port = free_port()
    server = subprocess.Popen(["outage-desk", "sandbox", "--port", str(port), "--tickets", str(TICKETS)],
                              cwd=tmp_path, env=a_shell(tmp_path, 40), stdout=subprocess.PIPE, text=True)
    banner = []
    for line in server.stdout:
        banner.append(line.rstrip("\n"))
        if line.startswith("Then create the webhook"):
            break
    yield port, banner
    server.terminate()
    server.wait(timeout=10)
    server.stdout.close()


def test_at_40_columns_each_variable_is_one_pasteable_export_line(sandbox):
    port, banner = sandbox
    exports = [line.strip() for line in banner if line.strip().startswith("export ")]
    assert {line.split()[1].split("=")[0] for line in exports} == VARIABLES
    assert all(re.fullmatch(r"export [A-Z_]+=\S+", line) for line in exports), exports
    assert f"export ZENDESK_URL=http://127.0.0.1:{port}" in exports


def test_the_printed_declare_takes_in_every_seeded_outage_ticket_after_the_env_is_evaluated(sandbox, tmp_path):
    port, banner = sandbox
    began = next(line for line in banner if line.startswith("The seeded outage began at"))
    declare = next(line.strip() for line in banner if line.strip().startswith("outage-desk declare "))
    assert "--since" in shlex.split(declare)

    # As the README says: the exports evaluated in the shell that runs Outage Desk, then the line pasted.
    pasted = subprocess.run(["bash", "-c", f'eval "$(outage-desk sandbox --env --port {port})" && {declare}'],
                            cwd=tmp_path, env=a_shell(tmp_path, 40), capture_output=True, text=True, timeout=120)
    assert pasted.returncode == 0, pasted.stderr

    # The sandbox's seed is fixed: the same one here names its outage tickets.
    seeded = seed_outage(SandboxState(api_email="x@example.com"), tickets=TICKETS, seed=7,
                         start=datetime.now(timezone.utc) - timedelta(hours=3))
    assert f"({len(seeded.outage_ticket_ids)} outage tickets since then)" in began
    url = f"http://127.0.0.1:{port}/api/v2/tickets/show_many.json"
    auth = ("outage-desk-api@example.com/token", "sandbox-token")
    tickets = []
    for first in range(0, len(seeded.outage_ticket_ids), 100):
        ids = ",".join(map(str, seeded.outage_ticket_ids[first:first + 100]))
        tickets += requests.get(url, params={"ids": ids}, auth=auth, timeout=30).json()["tickets"]
    # declare takes in what is still unsolved (status<solved): every such ticket of the outage, the oldest included.
    unsolved = [t for t in tickets if t["status"] not in ("solved", "closed")]
    assert len(tickets) == len(seeded.outage_ticket_ids) and len(unsolved) > 0.8 * len(tickets)
    assert [t["id"] for t in unsolved if "api_down" not in t["tags"]] == []
    assert min(t["created_at"] for t in unsolved) < (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    assert "Declared incident #1" in pasted.stdout
