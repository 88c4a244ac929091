"""Two admins post an update for the same incident at the same moment: exactly one is accepted, the other is
told it is too soon, and no customer gets two replies. On SQLite, and on PostgreSQL when it is configured."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import TooSoon
from app.incident.update_message import message_from_texts
from app.store.tables import UpdateRow
from app.web import create_app
from app.wiring import build_desk
from tests.scenarios.conftest import desk_config, outage
from tests.scenarios.test_interim_updates import TEXTS, update_emails

BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
ROUNDS = 8


def at_once(*work):
    """Run each callable on its own thread, released together; their results (or errors) in order."""
    start = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def run(index, job):
        start.wait()
        try:
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - the refusal is a result here
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@BOTH
def test_two_admins_posting_at_once_from_the_sidebar_one_is_accepted_the_other_is_too_soon(account, tmp_path):
    config = desk_config(account, tmp_path)
    desk = build_desk(config)  # migrates the store, as the worker does
    app = create_app(config)
    as_user = account.sidebar_sessions(app.test_client())
    admins = [as_user(account.seed.api_user_id), as_user(account.seed.api_user_id)]
    # Several incidents (one tag each), so the race is run often enough to lose without the rule.
    incidents = [desk.open_incident(outage(account, tag=f"outage_{n}")) for n in range(ROUNDS)]
    try:
        for incident in incidents:
            answers = at_once(*(lambda headers=headers, text=text: app.test_client().post(
                f"/api/incidents/{incident.id}/updates", headers=headers, json={"texts": {"en": text}})
                for headers, text in zip(admins, ("First admin's word", "Second admin's word"))))

            assert sorted(answer.status_code for answer in answers) == [202, 409], [a.get_json() for a in answers]
            refused = next(answer.get_json() for answer in answers if answer.status_code == 409)
            assert "had an update at" in refused["error"] and refused["next_allowed_at"]
            with desk.sessions() as session:
                stored = session.scalars(select(UpdateRow).where(UpdateRow.incident_id == incident.id)).all()
            assert len(stored) == 1
            next_at = stored[0].created_at + timedelta(minutes=30)
            assert datetime.fromisoformat(refused["next_allowed_at"]) == next_at == desk.interim.next_allowed_at(incident.id)
    finally:
        app.extensions["outage_desk.sessions"].kw["bind"].dispose()
        desk.sessions.kw["bind"].dispose()


@BOTH
def test_two_update_commands_at_once_reach_each_customer_once(account, tmp_path):
    config = desk_config(account, tmp_path)
    first, second = build_desk(config), build_desk(config)  # two processes on one store
    try:
        incident = first.incident(first.declare(outage(account)).incident_id)
        mark = len(account.state.emails)
        texts = [{**TEXTS, "en": TEXTS["en"]}, {"en": "A second admin's word, sent at the same moment."}]

        results = at_once(lambda: first.post_update(incident, message_from_texts(texts[0], "en")),
                          lambda: second.post_update(incident, message_from_texts(texts[1], "en")))

        refused = [r for r in results if isinstance(r, Exception)]
        [accepted] = [r for r in results if not isinstance(r, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], TooSoon), results
        assert accepted.finished and sum(accepted.sent.values()) > 20
        emailed = [e["ticket_id"] for e in account.emails_since(mark)]
        assert len(emailed) == len(set(emailed)) == sum(accepted.sent.values())
        with first.sessions() as session:
            assert session.scalar(select(func.count()).select_from(UpdateRow)) == 1
        if accepted.sent.get("fr"):
            assert any(TEXTS["fr"] in bodies for bodies in update_emails(account, mark).values())
    finally:
        first.sessions.kw["bind"].dispose()
        second.sessions.kw["bind"].dispose()
