"""One ticket per problem: a customer who emails then calls about the outage is merged into their first ticket,
once, and hears once at the end."""

import requests
from sqlalchemy import update

from app.incident.duplicates import SOURCE_NOTE
from app.jobs.inbox import drain_inbox
from app.jobs.tasks import run_tasks
from app.store.tables import AffectedTicketRow, MergeRow
from tests.scenarios.conftest import outage
from tests.scenarios.test_outage_to_resolution import closing_macro_text, webhooks  # noqa: F401 - fixture

PHONE = "+33 6 11 22 33 44"
MERGE_CALL = "POST /api/v2/tickets/{ticket_id}/merge"


def emails_then_calls(account, desk, webhooks, then=None):  # noqa: F811
    """Élise emails about the outage, then calls from the phone on her profile; both tickets reach the desk."""
    first = requests.post(f"{account.url}/_sandbox/tickets", timeout=10, json={
        "description": "Bonjour, l'API renvoie des erreurs 503 depuis ce matin.", "channel": "email",
        "requester": {"name": "Élise Martin", "email": "elise@example.fr", "phone": PHONE, "locale": "fr"}})
    first.raise_for_status()
    first_id = first.json()["id"]
    webhooks.ticket_event(first_id, "ticket.created")
    drain_inbox(desk)
    if then:
        then(first_id)
    # Zendesk makes a caller's ticket the user's whose identity holds the number.
    second_id = account.write_in("Appel: l'API ne répond toujours pas", locale="fr", email=None, name=PHONE,
                                 channel="voice")
    webhooks.ticket_event(second_id, "ticket.created")
    drain_inbox(desk)
    return first_id, second_id


def merges_sent(account, target_id: int) -> int:
    """Merges into this ticket Zendesk was asked for (the seeded outage has customers who wrote twice too)."""
    return sum(1 for call in account.state.calls
               if call["endpoint"] == MERGE_CALL and call["path"].startswith(f"/api/v2/tickets/{target_id}/merge"))


def test_a_call_after_an_email_is_merged_into_the_email_and_only_the_email_gets_the_closing_reply(
        account, desk, webhooks):  # noqa: F811
    declared = desk.declare(outage(account))
    email_id, call_id = emails_then_calls(account, desk, webhooks)
    assert account.ticket(email_id)["requester_id"] == account.ticket(call_id)["requester_id"]
    assert desk.is_affected(declared.incident_id, email_id) and desk.is_affected(declared.incident_id, call_id)

    run_tasks(desk)  # the worker's pass

    call, first = account.ticket(call_id), account.ticket(email_id)
    assert call["status"] == "closed" and first["status"] == "open"
    source_notes = [c for c in account.comments(call_id) if f"into #{email_id}" in c["body"]]
    target_notes = [c for c in account.comments(email_id) if f"#{call_id}" in c["body"]]
    assert len(source_notes) == 1 and len(target_notes) == 1
    assert not source_notes[0]["public"] and not target_notes[0]["public"]  # bookkeeping: no email to the customer
    assert merges_sent(account, email_id) == 1
    # The seeded customers who wrote twice before the declaration keep both tickets: agents were working them.
    assert {(r.source_ticket_id, r.target_ticket_id) for r in desk.duplicates.merges(declared.incident_id)} == {
        (call_id, email_id)}

    run_tasks(desk)  # the next pass merges nothing again
    assert merges_sent(account, email_id) == 1

    mark = len(account.state.emails)
    closing = desk.resolve(desk.incident(declared.incident_id))

    assert closing.resolved and not closing.given_up
    closing_text = closing_macro_text(account, "fr").split("{")[0][:30]
    got = [e for e in account.emails_since(mark) if e["ticket_id"] in (email_id, call_id)]
    assert [e["ticket_id"] for e in got] == [email_id] and closing_text in got[0]["body"]
    report = desk.report(desk.incident(declared.incident_id))
    merged = {line.ticket_id: line.reason for line in report.lines if line.take_in == "merged"}
    assert merged[call_id] == f"merged into #{email_id}" and report.summary()["merged"] == len(merged)


def test_a_merge_whose_answer_was_lost_is_settled_by_rereading_and_never_sent_twice(account, desk, webhooks):  # noqa: F811
    declared = desk.declare(outage(account))
    email_id, call_id = emails_then_calls(account, desk, webhooks)
    run_tasks(desk)
    assert merges_sent(account, email_id) == 1
    # The process died after Zendesk took the merge and before the ledger heard back (no job id either).
    with desk.sessions() as session:
        session.execute(update(MergeRow).where(MergeRow.source_ticket_id == call_id)
                        .values(state="submitted", job_id=None))
        session.execute(update(AffectedTicketRow).where(AffectedTicketRow.ticket_id == call_id)
                        .values(state="taken", detail=None))
        session.commit()

    run_tasks(desk)  # the restarted worker

    assert merges_sent(account, email_id) == 1
    [row] = [r for r in desk.duplicates.merges(declared.incident_id) if r.target_ticket_id == email_id]
    assert (row.source_ticket_id, row.target_ticket_id, row.state) == (call_id, email_id, "merged")
    notes = [c for c in account.comments(call_id) if c["body"] == SOURCE_NOTE.format(target=email_id, title="API down")]
    assert len(notes) == 1
    assert desk.progress(declared.incident_id).retrying == 0


def test_a_closed_first_ticket_is_not_a_merge_target_and_the_skip_says_why(account, desk, webhooks):  # noqa: F811
    declared = desk.declare(outage(account))

    def closed_by_an_agent(first_id):
        account.agent_update(first_id, status="closed", assignee_id=account.seed.agent_ids[0])

    email_id, call_id = emails_then_calls(account, desk, webhooks, then=closed_by_an_agent)

    report = desk.duplicates.run()

    assert report.skipped[call_id] == f"target #{email_id} is closed: Zendesk merges no closed ticket"
    assert merges_sent(account, email_id) == 0 and account.ticket(call_id)["status"] == "open"
    [row] = [r for r in desk.duplicates.merges(declared.incident_id) if r.source_ticket_id == call_id]
    assert row.state == "skipped" and row.target_ticket_id == email_id
    assert call_id not in desk.duplicates.run().skipped  # said once, not every pass


def test_zendesk_refuses_to_merge_a_closed_ticket(account):
    """The sandbox's merge follows Zendesk's rule; the job says why and nothing is merged."""
    auth = ("outage-desk-api@example.com/token", "scenario-token")
    first = account.write_in("API down", email="a@example.org")
    second = account.write_in("API still down", email="a@example.org")
    account.agent_update(first, status="closed", assignee_id=account.seed.agent_ids[0])

    job = requests.post(f"{account.url}/api/v2/tickets/{first}/merge.json", auth=auth, timeout=10,
                        json={"ids": [second], "target_comment": "t", "source_comment": "s"})
    assert job.status_code == 200
    account.server.app.extensions["sandbox"].jobs.wait_idle()
    status = requests.get(f"{account.url}/api/v2/job_statuses/{job.json()['job_status']['id']}.json", auth=auth,
                          timeout=10).json()["job_status"]

    assert status["status"] == "completed"
    assert status["results"][0]["success"] is False and status["results"][0]["error"] == "ClosedTicket"
    assert account.ticket(second)["status"] != "closed"
    bad = requests.post(f"{account.url}/api/v2/tickets/{first}/merge.json", auth=auth, timeout=10, json={"ids": []})
    assert bad.status_code == 400
