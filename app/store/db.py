"""Engine, sessions and migrations, built from the config (nothing at import time)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import ConfigError
from app.private_files import create_private

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL URLs as hosts hand them out name no driver; psycopg 3 is the one installed.
POSTGRES_SCHEMES = {"postgres", "postgresql"}
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK_KEY = 0x0D35_0001
WAL_SWITCH_ATTEMPTS = 100
WAL_SWITCH_PAUSE_SECONDS = 0.02


def store_url(database_url: str) -> URL:
    """`database_url` parsed, with plain `postgresql://` (or `postgres://`) meaning psycopg 3."""
    url = make_url(database_url)
    return url.set(drivername="postgresql+psycopg") if url.drivername in POSTGRES_SCHEMES else url


def database_url_problem(database_url: str) -> str | None:
    """What makes `database_url` unusable, found without connecting, or None; never quotes it (a password)."""
    try:
        url = store_url(database_url)
        dialect = url.get_dialect()
    except NoSuchModuleError:  # an ArgumentError too
        return "names a kind of database SQLAlchemy does not know"
    except (ArgumentError, ValueError):
        return "is not a database URL such as postgresql://user@host/db or sqlite:///outage-desk.db"
    try:
        dialect.import_dbapi()
    except ImportError as error:
        return f"needs the Python package {error.name or 'of its driver'}, which is not installed"
    # SQLite creates the file, not its folder: without one, the first connection fails.
    path = url.database
    if dialect.name == "sqlite" and path and path != ":memory:" and not url.query.get("uri"):
        if not Path(path).parent.is_dir():
            return "names a SQLite file in a folder that does not exist"
    return None


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; SQLite gets WAL, synchronous=NORMAL and a busy timeout for the worker thread."""
    url = store_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        path = _file_path(url)
        if path:
            # SQLite would create it 0644 (less the umask); its -wal, -shm and -journal files take its mode.
            event.listen(engine, "do_connect", lambda *_: create_private(path))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            _use_wal(cursor)
            # Under WAL, NORMAL loses no commit to a process crash (what "stored before the 2xx" needs),
            # at worst the last few to a power cut, never the file; it drops the fsync per commit, which
            # bounded webhook intake. OFF could corrupt the file on a power cut.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # pre-ping: a server restart or a proxy's idle timeout costs a reconnect, not a failed job.
    return create_engine(url, pool_pre_ping=True)


def _file_path(url: URL) -> Path | None:
    """The SQLite file of `url`; None in memory, and for a `file:` URI, which SQLite alone reads."""
    if url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(url.database)


def _use_wal(cursor: sqlite3.Cursor) -> None:
    # Turning a new file to WAL needs it alone for a moment, and SQLite then answers "locked" at
    # once instead of waiting: a second process opening the same new file tries again.
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(WAL_SWITCH_PAUSE_SECONDS)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection) -> AlembicConfig:
    """Alembic's settings for our migrations, run on `connection` (migrations/env.py takes it from here)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    try:
        connection = engine.connect()
    except OperationalError:
        # The first connection: a wrong host, password or file is the configuration's, said in one line.
        raise ConfigError("DATABASE_URL", "names a database that does not answer or refuses the connection") from None
    with connection, connection.begin():
        # `serve` and `worker` often start together on a fresh store: the second waits here for
        # the first's migrations (DDL included) to commit, then finds nothing left to do.
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            # pysqlite opens no transaction before DDL by itself: take the write lock up front.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        command.upgrade(alembic_config(connection), "head")
