"""The migrations on SQLite and PostgreSQL: the declared schema, both ways, rows kept, racing starts."""

import threading
from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.store.db import alembic_config, make_engine, upgrade
from app.store.tables import Base


def schema_drift(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_the_migrations_build_the_declared_schema_and_a_second_run_changes_nothing(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert schema_drift(engine) == []
    engine.dispose()


def test_the_migrations_go_down_to_nothing_and_up_again(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(engine)
    assert schema_drift(engine) == []
    engine.dispose()


def test_a_store_made_by_an_older_release_keeps_its_rows_and_takes_the_longer_texts(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
    now = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO incidents (id, title, kind, severity, tag, cr_value, query, state, started_at) "
            "VALUES (1, 'API down', 'unplanned', 2, 'api_down', 'cr', 'API', 'declared', :now)"), {"now": now})
        connection.execute(text(
            "INSERT INTO notifications (incident_id, ticket_id, audience, language, state, updated_stamp, updated_at) "
            "VALUES (1, 7, 'assigned', 'fr', 'planned', 'stamp', :now)"), {"now": now})
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE notifications SET state = 'submitted:callback-planned', language = :language, "
            "phone = :phone, detail = :detail"),
            {"language": "Portuguese (Brazil)", "phone": "A requester whose name is far longer than forty letters",
             "detail": "UpdateConflict: " + "x" * 400})
        row = connection.execute(text("SELECT ticket_id, state FROM notifications")).one()
        incident = connection.execute(text("SELECT id, problem_solved_at FROM incidents")).one()
    assert tuple(row) == (7, "submitted:callback-planned")
    assert tuple(incident) == (1, None)  # resolved or not, its next resolve reads the problem ticket
    engine.dispose()


def test_two_processes_starting_on_a_fresh_store_both_migrate_it_without_error(database_url):
    engines = [make_engine(database_url) for _ in range(2)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def migrate(engine) -> None:
        start.wait()
        try:
            upgrade(engine)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert schema_drift(engines[0]) == []
    for engine in engines:
        engine.dispose()


def test_interim_updates_stored_before_maintenance_windows_are_kept_by_0014(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0010")
    now = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO incidents (id, title, kind, severity, tag, cr_value, query, state, started_at) "
            "VALUES (1, 'API down', 'unplanned', 2, 'api_down', 'cr', 'API', 'declared', :now)"), {"now": now})
        connection.execute(text("INSERT INTO updates (id, incident_id, texts, created_at) "
                                "VALUES (1, 1, '{\"en\": \"Still down\"}', :now)"), {"now": now})
        connection.execute(text("INSERT INTO update_replies (update_id, ticket_id, language, state, updated_at) "
                                "VALUES (1, 7, 'en', 'sent', :now)"), {"now": now})
    upgrade(engine)
    with engine.begin() as connection:
        kept = connection.execute(text("SELECT id, incident_id, maintenance_id, texts FROM updates")).one()
        reply = connection.execute(text("SELECT update_id, ticket_id, state FROM update_replies")).one()
    assert tuple(kept) == (1, 1, None, '{"en": "Still down"}') and tuple(reply) == (1, 7, "sent")
    engine.dispose()


def test_0017_leaves_outages_resolved_before_it_out_of_aftercare_and_marks_the_rest_later(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0015")
    ended = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    with engine.begin() as connection:
        for incident_id, state in ((1, "resolved"), (2, "declared")):
            connection.execute(text(
                "INSERT INTO incidents (id, title, kind, severity, tag, cr_value, query, state, started_at, ended_at) "
                "VALUES (:id, 'API down', 'unplanned', 2, :tag, 'cr', 'API', :state, :at, :ended)"),
                {"id": incident_id, "tag": f"api_down_{incident_id}", "state": state, "at": ended,
                 "ended": ended if state == "resolved" else None})
    upgrade(engine)
    with engine.begin() as connection:
        marked = dict(connection.execute(text("SELECT id, aftercare_marked_at FROM incidents")).all())
    assert marked[1] is not None and marked[2] is None
    assert schema_drift(engine) == []


def test_deliveries_stored_before_0018_are_not_scanned_for_secrets_again(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0017")
    received = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO inbox (id, invocation_id, event, ticket_id, received_at) "
                                "VALUES (1, 'ticket.created:7:x', 'ticket.created', 7, :at)"), {"at": received})
    upgrade(engine)
    with engine.begin() as connection:
        checked = connection.execute(text("SELECT secrets_checked_at FROM inbox")).scalar()
        ledger = connection.execute(text("SELECT count(*) FROM comment_redactions")).scalar()
    assert checked is not None and ledger == 0
    engine.dispose()
