"""A PostgreSQL database for the benchmark: on the server OUTAGE_DESK_TEST_POSTGRES_URL names, else on a
throwaway server started as .ci/run starts one, else none."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.store.db import store_url

SERVER_URL_ENV = "OUTAGE_DESK_TEST_POSTGRES_URL"
INSTALL_HINT = f"install PostgreSQL (Debian: apt-get install postgresql) or set {SERVER_URL_ENV}"


def initdb_path() -> Path | None:
    """The newest installed PostgreSQL's initdb (Debian's layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: [int(part) for part in Path(path).parts[-3].split(".") if part.isdigit()])
    return Path(found[-1]) if found else None


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A new empty database's URL, dropped afterwards; None when there is no PostgreSQL to use."""
    server_url = os.environ.get(SERVER_URL_ENV)
    if server_url:
        with _database_on(server_url) as url:
            yield url
    elif initdb := initdb_path():
        with _throwaway_server(initdb.parent) as url, _database_on(url) as database:
            yield database
    else:
        yield None


def describe(url: str) -> str:
    """The server's version and whether each commit waits for the disk, as the figures depend on it."""
    engine = create_engine(store_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        version, fsync, synchronous_commit = connection.execute(text(
            "SELECT current_setting('server_version'), current_setting('fsync'), "
            "current_setting('synchronous_commit')")).one()
    engine.dispose()
    origin = f"the server {SERVER_URL_ENV} names" if os.environ.get(SERVER_URL_ENV) else "a throwaway server"
    return f"{origin}, version {version}, fsync {fsync}, synchronous_commit {synchronous_commit}"


@contextmanager
def _throwaway_server(bin_dir: Path) -> Iterator[str]:
    """A fresh cluster in a temporary folder, reached only by a Unix socket there (no port to collide
    with), stopped and removed on exit. As root it runs as `postgres`, which refuses to run as root."""
    folder = Path(tempfile.mkdtemp(prefix="outage-desk-bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o755)
        as_owner = ["runuser", "-u", "postgres", "--"]

    def run(*command: str) -> None:
        # From its own folder: `postgres` may not enter the checkout.
        done = subprocess.run([*as_owner, *command], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode:
            log = folder / "server.log"
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()}"
                               + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))

    data = folder / "data"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "--username=postgres", "--encoding=UTF8",
            "--locale=C.UTF-8")
        # Durable, as in production: each stored webhook's commit waits for the log on disk.
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "start",
            "-o", f"-c listen_addresses='' -c unix_socket_directories='{folder}'")
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _database_on(server_url: str) -> Iterator[str]:
    admin = create_engine(store_url(server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"outage_desk_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield store_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
