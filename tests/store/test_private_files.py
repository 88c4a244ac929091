"""The SQLite store is private however the service is started (gunicorn on `app.web:create_app()` sets no umask)."""

from sqlalchemy import text

from app.store.db import make_engine, upgrade
from tests.conftest import mode


def test_a_new_store_and_its_wal_files_are_private_and_an_existing_store_keeps_its_mode(tmp_path, shell_umask):
    engine = make_engine(f"sqlite:///{tmp_path}/desk.db")
    upgrade(engine)
    with engine.connect() as connection:  # an open connection keeps the -wal and -shm files
        connection.execute(text("SELECT count(*) FROM incidents"))
        modes = {path.name: mode(path) for path in tmp_path.glob("desk.db*")}
    engine.dispose()
    shared = tmp_path / "shared.db"
    shared.touch()
    shared.chmod(0o640)
    other = make_engine(f"sqlite:///{shared}")
    upgrade(other)
    other.dispose()

    assert modes == {"desk.db": 0o600, "desk.db-wal": 0o600, "desk.db-shm": 0o600}
    assert mode(shared) == 0o640
