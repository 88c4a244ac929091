"""/healthz, /readyz and /metrics, for whoever runs the service."""

import os
import shutil
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from app.store.tables import HeartbeatRow, IncidentRow, NotificationRow
from tests.conftest import PostgresServer


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_readiness_commits_a_heartbeat_each_time(client, sessions, clock):
    first = client.get("/readyz")
    clock.advance(5)
    second = client.get("/readyz")

    assert first.status_code == second.status_code == 200 and second.get_json() == {"status": "ok"}
    with sessions() as session:
        assert session.execute(select(HeartbeatRow.node, HeartbeatRow.beat_at, HeartbeatRow.beats)).all() == [
            (socket.gethostname(), clock.now(), 2)]


@contextmanager
def immutable(*paths: Path):
    """Writes to `paths` fail, through descriptors already open too, even for root: as on a full or read-only disk.

    chattr +i, since file modes do not stop root. Never on the -shm file: SQLite maps it, and a
    write there would kill the process with SIGBUS.
    """
    frozen: list[Path] = []
    try:
        for path in paths:
            if not shutil.which("chattr") or subprocess.run(["chattr", "+i", path], capture_output=True).returncode:
                message = "chattr +i is not available here (not root, or the file system has no immutable flag)"
                if os.environ.get("CI"):
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            frozen.append(path)
        yield
    finally:
        for path in frozen:
            subprocess.run(["chattr", "-i", path], check=True)


@contextmanager
def read_only(server: PostgresServer, database_url: str):
    """The PostgreSQL database turned read-only, as a failover onto a standby leaves it, then back."""
    name = make_url(database_url).database

    def switch(setting: str) -> None:
        with server.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" {setting}'))
            # A session reads the setting when it starts: end the app's, whose pool then reconnects.
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                               {"name": name})

    switch("SET default_transaction_read_only = on")
    try:
        yield
    finally:
        switch("RESET default_transaction_read_only")


@pytest.fixture
def refusing_writes(request, database_url, tmp_path):
    """`with refusing_writes():` the test's store refuses every write, and takes them again afterwards."""
    if make_url(database_url).get_backend_name() == "sqlite":
        store = tmp_path / "desk.db"
        return lambda: immutable(store, store.with_name("desk.db-wal"))
    return lambda: read_only(request.getfixturevalue("postgres_server"), database_url)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_readiness_is_503_with_the_reason_while_the_store_refuses_writes_and_liveness_stays_200(client,
                                                                                               refusing_writes):
    assert client.get("/readyz").status_code == 200  # the store is open (on SQLite, its WAL file there)

    with refusing_writes():
        refused = client.get("/readyz")
        alive = client.get("/healthz")

    assert refused.status_code == 503
    assert refused.get_json()["reason"].startswith("the store cannot take a write (")
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200  # writable again: back into the load balancer's rotation


def test_metrics_show_the_inbox_backlog(client, webhooks):
    webhooks.ticket_event(1)
    webhooks.ticket_event(2)
    body = client.get("/metrics").get_data(as_text=True)
    assert "outage_desk_inbox_backlog 2" in body.splitlines()


def test_metrics_show_a_resolving_incident_and_its_replies_still_to_go(client, sessions, clock):
    with sessions() as session:
        session.add(IncidentRow(id=1, title="API down", kind="unplanned", severity=2, tag="api_down", cr_value="cr",
                                query="API", state="resolving", started_at=clock.now()))
        session.add_all([NotificationRow(incident_id=1, ticket_id=ticket_id, audience="assigned", language="fr",
                                         kind="email", state=state, updated_stamp="s", updated_at=clock.now())
                         for ticket_id, state in ((10, "sent"), (11, "sent"), (12, "retry"))])
        session.commit()

    lines = client.get("/metrics").get_data(as_text=True).splitlines()

    assert 'outage_desk_incidents{state="resolving"} 1' in lines
    assert 'outage_desk_incidents{state="declared"} 0' in lines
    assert 'outage_desk_closing_replies{state="sent"} 2' in lines
    assert 'outage_desk_closing_replies{state="retry"} 1' in lines
