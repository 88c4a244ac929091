"""The aftercare banner in headless Chromium: an agent opening a new ticket from a customer a recent outage
hurt sees why, until when, the raised priority, and the case study's four-point checklist."""

from __future__ import annotations

from sqlalchemy import select

from app.clock import SystemClock
from app.store.tables import AffectedTicketRow
from tests.browser.conftest import expect, zendesk_ticket, zendesk_user
from tests.browser.test_sidebar import agent_id, declare
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender


def hurt_customer_writes_again(service, account) -> int:
    """An outage declared, then resolved; the worker marks its customers; one of them writes in again."""
    incident = declare(service, account)
    desk = service.app.extensions["outage_desk.desk"]
    assert desk.resolve(desk.incident(incident["id"])).resolved
    service.work()
    with desk.sessions() as session:
        affected = session.scalars(select(AffectedTicketRow.ticket_id)
                                   .where(AffectedTicketRow.incident_id == incident["id"])).all()
    person = next(user for user in (account.state.user(account.ticket(t)["requester_id"]) for t in affected)
                  if user.get("email"))
    ticket_id = account.write_in("Mail sending fails again", email=person["email"], name=person["name"],
                                 priority="normal")
    WebhookSender(service.app.test_client(), WEBHOOK_SECRET, SystemClock()).ticket_event(ticket_id)
    desk.take_in_pending()
    assert account.ticket(ticket_id)["priority"] == "high"
    return ticket_id


def test_the_agent_sees_the_aftercare_banner_with_the_checklist(sidebar, service, account):
    ticket_id = hurt_customer_writes_again(service, account)

    sidebar.open(zendesk_ticket(account, ticket_id), zendesk_user(account, agent_id(account, "en-US")))
    app = sidebar.app

    expect(app.locator("#aftercare .badge")).to_have_text("Aftercare")
    expect(app.locator("#aftercare-why")).to_contain_text("This customer was hurt by the outage “API down”")
    expect(app.locator("#aftercare-priority")).to_have_text("Priority raised from normal to high.")
    expect(app.locator("#aftercare li")).to_have_count(4)
    expect(app.locator("#aftercare li").nth(0)).to_contain_text("deadline for the fix, with margin")
    expect(app.locator("#aftercare li").nth(3)).to_contain_text("compensation")
    sidebar.screenshot("sidebar-aftercare.png")


def test_a_french_agent_reads_it_in_french_and_other_tickets_have_no_banner(sidebar, service, account):
    ticket_id = hurt_customer_writes_again(service, account)
    other = account.write_in("How do I export my invoices?", email="someone.new@example.org", name="Someone New")
    french = zendesk_user(account, agent_id(account, "fr"))

    sidebar.open(zendesk_ticket(account, ticket_id), french)
    expect(sidebar.app.locator("#aftercare .badge")).to_have_text("Suivi après incident")
    expect(sidebar.app.locator("#aftercare-priority")).to_have_text(
        "Priorité relevée de «\u00a0normale\u00a0» à «\u00a0élevée\u00a0».")
    sidebar.screenshot("sidebar-aftercare-fr.png")

    sidebar.open(zendesk_ticket(account, other), french)
    expect(sidebar.app.locator("#aftercare")).to_be_hidden()
