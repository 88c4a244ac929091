"""Posting an interim update from the sidebar, and the incident's history, in headless Chromium."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.incident.model import UNSOLVED, closing_language
from app.store.tables import AffectedTicketRow
from tests.browser.conftest import expect, zendesk_user
from tests.browser.test_sidebar import agent_id, api_ticket, declare

TEXTS = {"en": "Still down: our engineers are restarting the API.",
         "fr": "Toujours en panne : nos ingénieurs redémarrent l'API."}
# The page's context runs in Paris (tests/browser/conftest.py); the service answers in UTC.
PARIS = ZoneInfo("Europe/Paris")


def paris_time(iso: str) -> str:
    """A time of day as the English sidebar shows it in Paris: 02:32 PM."""
    return datetime.fromisoformat(iso).astimezone(PARIS).strftime("%I:%M %p")


def waiting_customers(service, account, incident_id: int) -> dict[int, str]:
    """The incident's linked tickets still waiting, whose requester has an email: ticket id -> the text due."""
    with service.app.extensions["outage_desk.sessions"]() as session:
        linked = session.scalars(select(AffectedTicketRow.ticket_id).where(
            AffectedTicketRow.incident_id == incident_id, AffectedTicketRow.state == "taken")).all()
    due = {}
    for ticket_id in linked:
        ticket = account.ticket(ticket_id)
        requester = account.state.users[ticket["requester_id"]]
        if ticket["status"] in UNSOLVED and requester.get("email"):
            due[ticket_id] = TEXTS[closing_language(requester["locale"], set(TEXTS), "en")]
    return due


def update_replies(account, ticket_id: int) -> list[dict]:
    return [c for c in account.comments(ticket_id) if c["body"] in TEXTS.values()]


def test_an_admin_posts_an_update_every_waiting_customer_gets_one_reply_in_their_language(sidebar, service,
                                                                                          account):
    incident = declare(service, account)
    due = waiting_customers(service, account, incident["id"])
    assert len(due) >= 2 and set(due.values()) == set(TEXTS.values())  # customers of both languages wait
    sidebar.open(api_ticket(account), zendesk_user(account, account.seed.api_user_id))
    app = sidebar.app
    expect(app.locator("#history-list li")).to_have_count(1)
    expect(app.locator("#history-list")).to_contain_text("Declared by you")

    sidebar.button("Post an update").click()
    expect(app.get_by_label("Text in English")).to_be_visible()  # the admin's language, the default one too
    app.get_by_label("Another language").fill("fr")
    sidebar.button("Add this language").click()
    app.get_by_label("Text in English").fill(TEXTS["en"])
    app.get_by_label("Text in French").fill(TEXTS["fr"])
    sidebar.screenshot("sidebar-update.png")
    sidebar.button("Post the update").click()

    expect(app.locator("#notice")).to_contain_text("Update #1 posted")
    posted = [call for call in sidebar.calls("POST") if call.path.endswith("/updates")]
    assert [(c.path, c.status, c.body) for c in posted] == [
        (f"/api/incidents/{incident['id']}/updates", 202, {"texts": TEXTS})]
    assert all(update_replies(account, ticket_id) == [] for ticket_id in due)  # the worker sends, not the request

    service.work()  # the worker sends it; the open sidebar reads the state again until it is done

    expect(app.locator("#update-last")).to_contain_text(f"{len(due)} sent", timeout=15_000)
    for ticket_id, text in due.items():
        [reply] = update_replies(account, ticket_id)
        assert (reply["body"], reply["public"]) == (text, True), ticket_id
    others = [t for t in account.state.tickets if t not in due and update_replies(account, t)]
    assert others == []  # nobody else: the solved, those without email, the unlinked

    state = sidebar.calls("GET")[-1].answer["incident"]
    last, next_at = state["last_update"], state["next_update_at"]
    assert (last["id"], last["finished"], last["sent"], last["pending"]) == (1, True, len(due), 0)
    expect(app.locator("#update-last")).to_have_text(
        f"Update #1 of {paris_time(last['created_at'])}: {len(due)} sent, {last['skipped']} skipped.")
    expect(app.locator("#update-next")).to_have_text(f"The next update can go from {paris_time(next_at)}.")

    # A second update within the half hour: refused, said plainly, nothing sent; no force from the sidebar.
    sidebar.button("Post an update").click()
    app.get_by_label("Text in English").fill("Another word")
    sidebar.button("Post the update").click()
    expect(app.get_by_role("alert")).to_contain_text(f"Too soon: the next update can go from {paris_time(next_at)}.")
    refused = [call for call in sidebar.calls("POST") if call.path.endswith("/updates")][-1]
    assert refused.status == 409 and refused.answer["next_allowed_at"] == next_at
    service.work()
    assert all(len(update_replies(account, ticket_id)) == 1 for ticket_id in due)
    assert not any(c["body"] == "Another word" for t in due for c in account.comments(t))
    sidebar.screenshot("sidebar-update-too-soon.png")


def test_an_update_from_a_macro_family(sidebar, service, account):
    incident = declare(service, account)
    sidebar.open(api_ticket(account), zendesk_user(account, account.seed.api_user_id))
    app = sidebar.app

    sidebar.button("Post an update").click()
    app.get_by_label("Use a macro").check()
    expect(app.get_by_label("Text in English")).to_be_hidden()
    app.get_by_label("Macro name").fill("Outage Desk acknowledgement")
    sidebar.button("Post the update").click()

    expect(app.locator("#notice")).to_contain_text("Update #1 posted")
    posted = [call for call in sidebar.calls("POST") if call.path.endswith("/updates")][0]
    assert (posted.status, posted.body) == (202, {"macro": "Outage Desk acknowledgement"})
    service.work()
    answer = service.call("GET", f"/api/state?ticket_id={api_ticket(account)['id']}", account.seed.api_user_id)
    last = answer["incident"]["last_update"]
    assert answer["incident"]["id"] == incident["id"] and last["finished"] and last["sent"] >= 2


def test_an_agent_sees_the_history_but_no_update_form(sidebar, service, account):
    declare(service, account)
    agent = zendesk_user(account, agent_id(account, "fr"))
    sidebar.open(api_ticket(account), agent)
    app = sidebar.app

    expect(app.locator("#incident-badge")).to_have_text("Incident en cours")
    expect(app.locator("#post-update")).to_be_hidden()
    expect(app.get_by_role("button", name="Publier un point d’étape")).to_have_count(0)
    expect(app.locator("#history")).to_contain_text("Historique")
    expect(app.locator("#history-list")).to_contain_text(f"Déclaré par l’agent n°\u00a0{account.seed.api_user_id}")
    sidebar.screenshot("sidebar-history-agent.png")
