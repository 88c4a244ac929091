"""Secrets posted in tickets: redacted to their first and last characters, the customer told once in their language.

The account is set up by `setup` (the customer-comment trigger and the webhook), Outage Desk is served on a
local port, and the sandbox delivers the trigger's webhook as Zendesk would; the worker's pass does the rest.
"""

import threading

import pytest
import requests
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app.clock import SystemClock
from app.errors import OutageDeskError
from app.hygiene.comment_redaction import RedactionReport, note_tag
from app.hygiene.secret_notes import NOTES
from app.jobs.redaction import redact_secrets
from app.store.secrets import SecretBox
from app.store.settings import WEBHOOK_SIGNING_SECRET, save_secret
from app.store.tables import CommentRedactionRow
from app.web import create_app
from app.zendesk.provisioning import Provisioner
from tests.helpers import WebhookSender, wait_until
from tests.scenarios.conftest import desk_config
from tests.scenarios.test_cli import outage_desk
from tests.scenarios.test_exactly_once import set_faults

STRIPE_KEY = "sk_live_51NzQpLx8RvT2mKd9WcYb3HsFjA7eUq4G"
REDACT = "PUT /api/v2/tickets/{ticket_id}/comments/{comment_id}/redact"


class _Later:
    """The service's WSGI app, made once setup has stored the webhook's secret it verifies deliveries with."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture
def served(account, desk, tmp_path):
    """`setup` run against the sandbox with this service's URL, and the service answering there."""
    later = _Later()
    server = make_server("127.0.0.1", 0, later, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provisioner = Provisioner(desk.gateway, desk.config, f"http://127.0.0.1:{server.server_port}")
    learnt = provisioner.apply(provisioner.plan())
    save_secret(desk.sessions, SecretBox(desk.config.outage_desk_secret_key), WEBHOOK_SIGNING_SECRET,
                learnt["webhook_secret"])  # as `outage-desk setup` does
    later.app = create_app(desk_config(account, tmp_path).with_overrides(zendesk_webhook_secret=""))
    yield later.app, learnt["webhook_secret"]
    server.shutdown()


def customer_replies(account, ticket_id, body):
    """The customer answers the ticket's email; the sandbox runs the triggers and delivers their webhooks."""
    requests.post(f"{account.url}/_sandbox/tickets/{ticket_id}/replies", json={"body": body},
                  timeout=10).raise_for_status()
    wait_until(lambda: all(d["status"] != "pending" for d in deliveries(account)))


def deliveries(account, ticket_id=None):
    with account.state.lock:
        return [dict(d) for d in account.state.deliveries if ticket_id in (None, d["ticket_id"])]


def redact_calls(account):
    with account.state.lock:
        return [call for call in account.state.calls if call["endpoint"] == REDACT]


def agent_comments(account, ticket_id):
    return [c for c in account.comments(ticket_id) if account.state.is_agent(c["author_id"])]


def ledger(desk):
    with desk.sessions() as session:
        return list(session.scalars(select(CommentRedactionRow)))


def test_a_french_customers_stripe_key_is_redacted_to_its_ends_and_she_gets_one_french_note(account, desk, served):
    ticket_id = account.write_in("Bonjour, les paiements échouent depuis ce matin.", locale="fr",
                                 name="Amélie Durand", email="amelie@example.fr")
    customer_replies(account, ticket_id, f"Voici notre clé Stripe : {STRIPE_KEY}. Merci de vérifier.")
    # The webhook names the ticket, never the comment: no copy of the key in Zendesk's webhook log.
    (delivery,) = [d for d in deliveries(account, ticket_id) if '"comment.added"' in d["body"]]
    assert delivery["status"] == "delivered" and STRIPE_KEY not in delivery["body"]
    mark = len(account.state.emails)

    report = redact_secrets(desk)

    assert (report.found, report.redacted, report.noted, report.given_up) == (1, 1, 1, {})
    customer_comment = account.comments(ticket_id)[1]
    hidden = STRIPE_KEY[len("sk_live_"):-4]
    redacted = f"sk_live_{'▇' * len(hidden)}{STRIPE_KEY[-4:]}"
    assert customer_comment["body"] == f"Voici notre clé Stripe : {redacted}. Merci de vérifier."
    assert STRIPE_KEY not in customer_comment["plain_body"] and hidden not in customer_comment["html_body"]
    (note,) = agent_comments(account, ticket_id)
    assert note["public"] and note["body"].startswith(NOTES["fr"][0].split("{")[0])
    assert "sk_live_…" + STRIPE_KEY[-4:] in note["body"] and hidden not in note["body"]
    (email,) = [e for e in account.emails_since(mark) if e["ticket_id"] == ticket_id]
    assert email["to"] == "amelie@example.fr" and "ne partager que les premiers et derniers caractères" in email["body"]
    assert note_tag(customer_comment["id"]) in account.ticket(ticket_id)["tags"]


def test_a_redelivered_webhook_and_a_worker_that_died_after_its_note_change_nothing(account, desk, served):
    app, secret = served
    ticket_id = account.write_in("Our CI cannot pull images.", email="dev@example.org")
    customer_replies(account, ticket_id, "token is ghp_b2Rann76dEyTzAeKOmXRrvftva9AW7hipTga, password: Hunter2024!")
    redact_secrets(desk)
    comments_before, tags_before = account.comments(ticket_id), account.ticket(ticket_id)["tags"]
    assert len(agent_comments(account, ticket_id)) == 1 and len(redact_calls(account)) == 2

    # Zendesk delivers the same change again, under a new invocation id.
    (delivery,) = [d for d in deliveries(account, ticket_id) if '"comment.added"' in d["body"]]
    again = WebhookSender(app.test_client(), secret, SystemClock()).post(delivery["body"].encode())
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    # And the worker died after the note landed, before the ledger said so.
    with desk.sessions() as session:
        session.execute(update(CommentRedactionRow).values(state="noting"))
        session.commit()

    report = redact_secrets(desk)

    assert (report.redacted, report.noted) == (0, 0)
    assert account.comments(ticket_id) == comments_before and account.ticket(ticket_id)["tags"] == tags_before
    assert len(redact_calls(account)) == 2
    assert [row.state for row in ledger(desk)] == ["done"]


def test_a_worker_that_died_between_redacting_and_noting_sends_the_note_once(account, desk, served):
    ticket_id = account.write_in("Pagamentos falhando.", locale="pt-BR", email="joao@example.com.br")
    customer_replies(account, ticket_id, f"A chave do Stripe é {STRIPE_KEY}")
    desk.redaction.scan(report := RedactionReport())  # the worker's pass got as far as the ledger
    (row,) = ledger(desk)
    # The redaction landed, then the process died: the comment shows only the key's ends, and no note yet.
    comment = account.comments(ticket_id)[1]
    desk.gateway.redact_string(ticket_id, comment["id"], STRIPE_KEY[8:-4])
    assert report.found == 1 and row.state == "planned" and not agent_comments(account, ticket_id)

    redact_secrets(desk)
    redact_secrets(desk)

    (note,) = agent_comments(account, ticket_id)
    assert note["body"].startswith(NOTES["pt"][0].split("{")[0]) and f"sk_live_…{STRIPE_KEY[-4:]}" in note["body"]
    assert len(redact_calls(account)) == 1  # the worker found nothing left to redact


def test_a_closed_ticket_is_reported_and_not_retried(account, desk, served, caplog, tmp_path):
    ticket_id = account.write_in("Webhook down", email="ops@example.org")
    customer_replies(account, ticket_id, f"key {STRIPE_KEY}")
    account.agent_update(ticket_id, status="solved", assignee_id=account.seed.agent_ids[0])
    with account.state.lock:
        account.state.tickets[ticket_id]["status"] = "closed"  # Zendesk closes solved tickets on its own schedule
    comment_before = account.comments(ticket_id)[1]["body"]

    first = redact_secrets(desk)
    second = redact_secrets(desk)

    (row,) = ledger(desk)
    assert row.state == "given_up" and row.detail == "closed: Zendesk cannot redact a closed ticket's comments"
    assert first.given_up == {row.comment_id: row.detail} and second.given_up == {}
    assert len(redact_calls(account)) == 1  # refused once by Zendesk, not asked again
    assert account.comments(ticket_id)[1]["body"] == comment_before and not agent_comments(account, ticket_id)
    assert any(r.message == "redaction.given-up" for r in caplog.records)
    assert STRIPE_KEY not in caplog.text
    shown = outage_desk(account, tmp_path, "redactions", env_overrides={"DATABASE_URL": desk.config.database_url})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (f"ticket #{ticket_id} comment #{row.comment_id}: stripe - given_up "
                            "(closed: Zendesk cannot redact a closed ticket's comments)\n")


def test_a_desk_key_pattern_that_is_no_regular_expression_stops_the_command_with_one_line(account, tmp_path):
    result = outage_desk(account, tmp_path, "redactions", env_overrides={"OUTAGE_DESK_API_KEY_PATTERN": "odk_(live"})
    assert result.returncode != 0 and result.stdout == ""
    assert "OUTAGE_DESK_API_KEY_PATTERN" in result.stderr and "is not a regular expression" in result.stderr


def test_a_comment_full_of_numbers_that_look_like_secrets_is_left_alone(account, desk, served):
    ticket_id = account.write_in("Order problem", locale="de", email="k.mueller@example.de")
    text = ("Bestellung #482913, Anfrage-ID 3f2b9c1e-8d4a-4b7e-9f1c-2a6d8e4b0c7f, Sendungsnummer 1Z999AA10123456784, "
            "Erstattung auf IBAN DE89370400440532013000, Rückruf unter +49 30 1234567. Der Fix: "
            "https://github.com/acme/shop/commit/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b. Passwort: vergessen. "
            "Unser Schlüssel endet auf sk_live_…9f2A.")
    customer_replies(account, ticket_id, text)

    report = redact_secrets(desk)

    assert report.scanned >= 1 and report.found == 0
    assert account.comments(ticket_id)[1]["body"] == text
    assert not agent_comments(account, ticket_id) and not redact_calls(account) and not ledger(desk)


def test_a_secret_in_a_new_tickets_description_is_redacted_and_clean_new_tickets_cost_no_comment_listing(
        account, desk, served):
    clean = [account.write_in(f"The API answers 503 since {hour}:00", email=f"c{hour}@example.org") for hour in (8, 9)]
    ticket_id = account.write_in(f"Webhooks fail. Our key: {STRIPE_KEY}", locale="es", email="maria@example.es")
    wait_until(lambda: all(d["status"] != "pending" for d in deliveries(account)))
    with account.state.lock:
        account.state.calls.clear()

    report = redact_secrets(desk)

    assert report.scanned >= 3 and (report.found, report.noted) == (1, 1)
    redacted = f"sk_live_{'▇' * len(STRIPE_KEY[8:-4])}{STRIPE_KEY[-4:]}"
    assert account.comments(ticket_id)[0]["body"].endswith(redacted)
    assert account.ticket(ticket_id)["description"].endswith(redacted)
    (note,) = agent_comments(account, ticket_id)
    assert note["body"].startswith(NOTES["es"][0].split("{")[0])
    with account.state.lock:
        listed = {call["path"].split("/")[4] for call in account.state.calls
                  if call["endpoint"] == "GET /api/v2/tickets/{ticket_id}/comments"}
    assert str(ticket_id) in listed and not listed & {str(t) for t in clean}


def test_answers_lost_on_the_way_back_still_leave_one_redaction_and_one_note(account, desk, served):
    ticket_id = account.write_in("Slack bot silent", locale="ru", email="ivan@example.ru")
    customer_replies(account, ticket_id, "Токен бота: xoxb-560665227374-9639741035537-sHl7UeioEJP2NNern66nVber")
    # Half of Zendesk's answers are lost after the request was carried out: the gateway sends again.
    set_faults(account, lost_answer_rate=0.5, seed=4)
    for _pass in range(30):
        try:
            redact_secrets(desk)
        except OutageDeskError:
            continue  # the worker's next pass carries on
        if [row.state for row in ledger(desk)] == ["done"]:
            break
    set_faults(account)

    assert [row.state for row in ledger(desk)] == ["done"]
    with account.state.lock:
        writes = [(c["status"], c.get("fault")) for c in account.state.calls if c["endpoint"] in (
            REDACT, "PUT /api/v2/tickets/{ticket_id}")]
    # The note's answer was lost and the gateway sent it again: Zendesk refused the copy (a safe update),
    # and the marker tag said the first had landed.
    assert (409, None) in writes and ("lost_answer" in {fault for _status, fault in writes})
    (note,) = agent_comments(account, ticket_id)
    assert note["body"].startswith(NOTES["ru"][0].split("{")[0]) and "xoxb-…" in note["body"]
    assert "sHl7UeioEJP2NNern66n" not in account.comments(ticket_id)[1]["body"]
