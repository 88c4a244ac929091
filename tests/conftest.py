from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, Pool

from app.config import Config
from app.store.db import make_engine, make_session_factory, store_url, upgrade
from app.store.secrets import SecretBox
from app.web import create_app
from tests.helpers import FrozenClock, WebhookSender
from zendesk_sandbox.apps import OUTAGE_DESK_APP_ID

WEBHOOK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
# OUTAGE_DESK_SECRET_KEY of this test run, made fresh: no key is written down anywhere.
SECRET_KEY = SecretBox.new_key()
# The uploaded Outage Desk app's id (OUTAGE_DESK_APP_ID), as the sandbox's account has it.
APP_ID = OUTAGE_DESK_APP_ID
# A PostgreSQL URL whose role may create databases; without it the tests start a server of their own.
POSTGRES_URL_ENV = "OUTAGE_DESK_TEST_POSTGRES_URL"
# Where every test runs on SQLite and on PostgreSQL: the store, the worker, the fault tests and the
# exactly-once and intake scenarios. Unit tests stay on SQLite: they test logic, not the database.
BOTH_DATABASES = ("tests/store/", "tests/jobs/", "tests/faults/", "tests/scenarios/test_declare.py",
                  "tests/scenarios/test_outage_to_resolution.py")
# Each test's database URL by its tmp_path, for helpers that get only the path (desk_config).
_DATABASE_URLS: dict[Path, str] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests under BOTH_DATABASES that use a store once per database."""
    path = metafunc.definition.path.relative_to(metafunc.config.rootpath).as_posix()
    # A test that names its database itself (PostgreSQL only, say) keeps that choice.
    chosen = any(marker.args and marker.args[0] == "database_url"
                 for marker in metafunc.definition.iter_markers("parametrize"))
    if "database_url" in metafunc.fixturenames and path.startswith(BOTH_DATABASES) and not chosen:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


class PostgresServer:
    """The test server: one fresh database per test, dropped afterwards."""

    def __init__(self, url: str):
        self.url = store_url(url)
        self.admin: Engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def create_database(self) -> str:
        name = f"outage_desk_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


class ThrowawayPostgres:
    """A PostgreSQL cluster of this test run's own, from Debian's binaries: a fresh cluster in a temporary
    folder, owned by `postgres` when we are root (initdb refuses root), reached only by a Unix socket in
    that folder (no port to collide with), tuned for speed over durability, removed at the end."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        # Under /tmp whatever TMPDIR says: a Unix socket path is at most 107 bytes long.
        self.folder = Path(tempfile.mkdtemp(prefix="outage-desk-pg.", dir="/tmp"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.folder.chmod(0o755)

    @staticmethod
    def binaries() -> Path | None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
        return Path(found[-1]).parent if found else None

    def _run(self, *command: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        # From its own folder: `postgres` may not enter the checkout.
        done = subprocess.run([*prefix, *command], cwd=self.folder, capture_output=True, text=True)
        if check and done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{command[0]} failed: {done.stderr}{log.read_text() if log.exists() else ''}")

    def start(self) -> str:
        data = self.folder / "data"
        self._run(str(self.bin_dir / "initdb"), "-D", str(data), "--auth=trust", "--username=postgres",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", "60", "start", "-o", f"-c listen_addresses='' -c unix_socket_directories='{self.folder}'"
                  " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        # The tests' role creates a database per test, without a superuser's rights.
        self._run(str(self.bin_dir / "psql"), "-h", str(self.folder), "-U", "postgres", "-d", "postgres",
                  "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE ROLE outage_desk LOGIN CREATEDB",
                  "-c", "CREATE DATABASE outage_desk OWNER outage_desk")
        return f"postgresql+psycopg://outage_desk@/outage_desk?host={self.folder}"

    def stop(self) -> None:
        # Also after a failed start: whatever did not come up, the folder goes.
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop",
                  check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server OUTAGE_DESK_TEST_POSTGRES_URL names, else one started here from Debian's binaries."""
    url = os.environ.get(POSTGRES_URL_ENV)
    throwaway = None
    if not url:
        bin_dir = ThrowawayPostgres.binaries()
        if bin_dir is None:
            reason = (f"PostgreSQL variant skipped: apt-get install postgresql (the tests start a server of"
                      f" their own), or set {POSTGRES_URL_ENV}")
            if os.environ.get("CI"):
                pytest.fail(f"CI is set but PostgreSQL is not installed: {reason}", pytrace=False)
            pytest.skip(reason)
        throwaway = ThrowawayPostgres(bin_dir)
        try:
            url = throwaway.start()
        except Exception:
            throwaway.stop()
            raise
    server = PostgresServer(url)
    yield server
    server.admin.dispose()
    if throwaway is not None:
        throwaway.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's own empty store: a SQLite file, or a new PostgreSQL database.

    SQLite unless parametrized: tests under BOTH_DATABASES get both, and so does any test that
    parametrizes it indirectly with ["sqlite", "postgresql"].
    """
    if getattr(request, "param", "sqlite") == "sqlite":
        url = f"sqlite:///{tmp_path}/desk.db"
        _DATABASE_URLS[tmp_path] = url
        yield url
        del _DATABASE_URLS[tmp_path]
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    name = make_url(url).database
    opened: weakref.WeakSet = weakref.WeakSet()

    def remember(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, psycopg.Connection) and dbapi_connection.info.dbname == name:
            opened.add(dbapi_connection)

    # Engines the code under test never disposes would otherwise close their connections at some
    # later garbage collection, with a ResourceWarning in whichever test runs then.
    event.listen(Pool, "connect", remember)
    _DATABASE_URLS[tmp_path] = url
    yield url
    del _DATABASE_URLS[tmp_path]
    event.remove(Pool, "connect", remember)
    for connection in list(opened):
        connection.close()
    server.drop_database(url)


def database_url_for(tmp_path: Path) -> str:
    """The database of the test whose tmp_path this is (its SQLite file if it asked for none)."""
    return _DATABASE_URLS.get(tmp_path, f"sqlite:///{tmp_path}/desk.db")


@pytest.fixture
def shell_umask() -> Iterator[None]:
    """An operator's usual umask (022) for this test and the commands it starts: what they create is still private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    """`path`'s permission bits, e.g. 0o600."""
    return path.stat().st_mode & 0o777


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def config(database_url) -> Config:
    return Config(zendesk_subdomain="acme", zendesk_email="api@acme.test", zendesk_api_token="tok-secret-123",
                  zendesk_webhook_secret=WEBHOOK_SECRET, database_url=database_url,
                  outage_desk_referent="referent@example.com", outage_desk_secret_key=SECRET_KEY,
                  outage_desk_app_id=APP_ID)


@pytest.fixture
def sessions(config):
    engine = make_engine(config.database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def app(config, sessions, clock):
    return create_app(config, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def webhooks(client, clock) -> WebhookSender:
    return WebhookSender(client, WEBHOOK_SECRET, clock)
