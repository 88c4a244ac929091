"""The processes as an operator starts them: gunicorn web workers that run no job, workers that take turns."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import requests
from sqlalchemy import select

from app.intake.signature import ZendeskSignature
from app.jobs.lease import WORKER_LEASE
from app.jobs.scheduler import INBOX_INTERVAL_SECONDS
from app.store.leases import RELEASED, lease_holder
from app.store.tables import InboxRow
from tests.conftest import SECRET_KEY, WEBHOOK_SECRET, mode
from tests.helpers import wait_until


def start(database_url: str, tmp_path, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`outage-desk ARGS` in the background, its stderr in tmp_path/NAME.log; `env` overrides the settings."""
    settings = env
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    # The jobs make no Zendesk call while no incident is declared: nothing listens there.
    env.update(ZENDESK_URL="http://127.0.0.1:9", ZENDESK_SUBDOMAIN="acme", ZENDESK_EMAIL="api@acme.test",
               ZENDESK_API_TOKEN="tok", ZENDESK_WEBHOOK_SECRET=WEBHOOK_SECRET, DATABASE_URL=database_url,
               OUTAGE_DESK_SECRET_KEY=SECRET_KEY)
    env.update(settings or {})
    with open(tmp_path / f"{name}.log", "w") as log:
        return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=tmp_path,
                                env=env, stdout=log, stderr=subprocess.STDOUT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook(ticket_id: int) -> InboxRow:
    """An update with no incident declared: processed without Zendesk (a new ticket's subject is read, for
    detection, and this Zendesk does not answer)."""
    return InboxRow(invocation_id=f"inv-{ticket_id}", event="ticket.updated", ticket_id=ticket_id,
                    received_at=datetime.now(timezone.utc))


def processed(sessions, ticket_id: int) -> bool:
    with sessions() as session:
        return session.scalar(select(InboxRow.processed_at).where(InboxRow.ticket_id == ticket_id)) is not None


def test_gunicorn_workers_store_webhooks_on_their_own_connections_and_run_no_job(database_url, sessions, tmp_path,
                                                                                 processes):
    url = f"http://127.0.0.1:{free_port()}"
    processes.append(start(database_url, tmp_path, "serve", "serve", "--bind", url.removeprefix("http://"),
                           "--workers", "2"))
    wait_until(lambda: _answers(f"{url}/healthz"), timeout=30)
    signature = ZendeskSignature(WEBHOOK_SECRET)
    for ticket_id in range(1, 13):
        body = json.dumps({"ticket_id": str(ticket_id), "event": "ticket.created"}).encode()
        headers = {**signature.headers(body), "Content-Type": "application/json",
                   "X-Zendesk-Webhook-Invocation-Id": f"inv-{ticket_id}"}
        assert requests.post(f"{url}/webhooks/zendesk", data=body, headers=headers, timeout=10).status_code == 202
    time.sleep(2 * INBOX_INTERVAL_SECONDS)  # a scheduler in a web worker would have drained them by now
    assert "outage_desk_inbox_backlog 12" in requests.get(f"{url}/metrics", timeout=10).text
    processes[0].send_signal(signal.SIGTERM)
    assert processes[0].wait(timeout=30) == 0
    with sessions() as session:
        assert sorted(session.scalars(select(InboxRow.ticket_id).where(InboxRow.processed_at.is_(None)))) == list(
            range(1, 13))


def test_serve_keeps_its_sqlite_store_and_wal_files_private(tmp_path, processes, shell_umask):
    url = f"http://127.0.0.1:{free_port()}"
    processes.append(start(f"sqlite:///{tmp_path}/served.db", tmp_path, "serve", "serve", "--bind",
                           url.removeprefix("http://"), "--workers", "1"))
    wait_until(lambda: _answers(f"{url}/readyz"), timeout=30)  # a worker wrote, and holds the store open

    modes = {path.name: mode(path) for path in tmp_path.glob("served.db*")}

    assert modes == {"served.db": 0o600, "served.db-wal": 0o600, "served.db-shm": 0o600}


def test_a_second_worker_waits_then_takes_over_when_the_first_is_killed(database_url, sessions, tmp_path, processes):
    def holder_pid() -> int | None:
        lease = lease_holder(sessions, WORKER_LEASE)
        return int(lease.owner.split(":")[1]) if lease and lease.expires_at > datetime.now(timezone.utc) else None

    workers = {name: start(database_url, tmp_path, name, "worker", "--lease-seconds", "3") for name in ("a", "b")}
    processes.extend(workers.values())
    wait_until(lambda: holder_pid() in {worker.pid for worker in workers.values()}, timeout=30)
    first, second = sorted(workers, key=lambda name: workers[name].pid != holder_pid())
    wait_until(lambda: "jobs.lease-waiting" in (tmp_path / f"{second}.log").read_text(), timeout=30)
    with sessions() as session:
        session.add(webhook(1))
        session.commit()
    wait_until(lambda: processed(sessions, 1))

    workers[first].kill()
    wait_until(lambda: holder_pid() == workers[second].pid, timeout=15)
    with sessions() as session:
        session.add(webhook(2))
        session.commit()
    wait_until(lambda: processed(sessions, 2))
    assert (tmp_path / f"{second}.log").read_text().count("jobs.lease-waiting") == 1
    assert "jobs.lease-waiting" not in (tmp_path / f"{first}.log").read_text()

    workers[second].send_signal(signal.SIGTERM)  # a clean stop hands the lease on at once
    assert workers[second].wait(timeout=30) == 0
    assert lease_holder(sessions, WORKER_LEASE).expires_at == RELEASED


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
