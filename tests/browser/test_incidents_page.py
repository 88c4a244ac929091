"""The incidents page in Zendesk's nav bar, in headless Chromium: every incident with its live counts and
report; an admin resolves one and the worker sends the closing replies; an agent sees the list, no action."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.store.tables import NotificationRow
from tests.browser.conftest import SCREENSHOTS, SUBDOMAIN, expect, zendesk_user
from tests.browser.harness import ZendeskStub
from tests.browser.test_sidebar import agent_id, declare, suspect


@pytest.fixture
def nav_bar(service):
    stub = ZendeskStub(SUBDOMAIN, settings={"service_url": service.url},
                       sign=lambda user_id: service.account.signed_url_token(service.installation_id, user_id),
                       installation_id=service.installation_id, location="nav_bar")
    yield stub
    stub.close()


def open_incidents(page, nav_bar, service, user: dict):
    """Click the app's nav bar icon as this agent: Zendesk POSTs its signed token to /incidents."""
    service.calls.clear()
    nav_bar.show_nav_bar(user)
    page.set_viewport_size({"width": 960, "height": 1000})
    page.goto(nav_bar.url + "/")
    app = page.frame_locator("#app-frame")
    expect(app.locator("#loading")).to_be_attached()
    expect(app.locator("#loading")).to_be_hidden()
    return app


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#apps-panel").screenshot(path=str(SCREENSHOTS / name))


def public_comments(account, ticket_ids) -> dict[int, int]:
    return {t: sum(1 for c in account.comments(t) if c["public"]) for t in ticket_ids}


def test_an_admin_sees_every_incident_and_resolves_one_then_the_worker_sends_the_closing_replies(
        page, nav_bar, service, account):
    older = declare(service, account, title="Login slow")
    service.call("POST", f"/api/incidents/{older['id']}/resolve", account.seed.api_user_id)
    service.work()
    incident = declare(service, account, title="API down")
    admin = zendesk_user(account, account.seed.api_user_id)
    app = open_incidents(page, nav_bar, service, admin)

    opened = [c for c in service.calls if not c.path.startswith("/sidebar/assets/")]
    assert [(c.method, c.path, c.status) for c in opened][:2] == [
        ("POST", "/incidents", 200), ("GET", "/api/incidents", 200)]
    cards = app.locator("#incident-list > li")
    expect(cards).to_have_count(2)
    live, resolved = cards.nth(0), cards.nth(1)  # the live one first
    expect(live.locator(".incident-title")).to_have_text("API down")
    expect(live.locator(".badge")).to_have_text("Outage in progress")
    listed = opened[1].answer["incidents"]
    expect(live.locator(".card-counts")).to_have_text(f"{listed[0]['tickets']} tickets taken in")
    expect(resolved.locator(".badge")).to_have_text("Resolved")
    expect(resolved.locator(".card-notifications")).to_contain_text(f"{listed[1]['notifications']['sent']} sent")
    expect(resolved.get_by_role("button", name="Resolve")).to_be_hidden()  # only a declared one resolves

    live.get_by_role("button", name="Report").click()
    expect(live.locator(".card-report-summary")).to_contain_text(
        f"{listed[0]['tickets']} tickets, 0 notified, 0 to call back; median time to acknowledge: ")
    expect(live.get_by_role("link", name="Download the HTML report")).to_have_attribute(
        "download", f"incident-{incident['id']}-report.html")
    [html] = [c for c in service.calls if c.query == "format=html"]
    assert html.status == 200 and html.answer.lstrip().lower().startswith("<!doctype html")
    screenshot(page, "incidents-admin.png")

    with service.app.extensions["outage_desk.sessions"]() as session:
        assert session.scalars(select(NotificationRow).where(NotificationRow.incident_id == incident["id"])).all() == []
    linked = service.call("GET", f"/api/incidents/{incident['id']}/report", account.seed.api_user_id)["tickets"]
    before = public_comments(account, [line["ticket_id"] for line in linked])
    live.get_by_role("button", name="Resolve").click()
    expect(app.locator("#notice")).to_contain_text(
        f"Incident #{incident['id']} is resolving: the worker sends the closing emails.")
    resolve = [c for c in service.calls if c.path.endswith("/resolve")]
    assert [(c.method, c.path, c.status) for c in resolve] == [
        ("POST", f"/api/incidents/{incident['id']}/resolve", 202)]
    assert public_comments(account, before) == before  # the request path writes nothing to Zendesk

    service.work()  # the worker sends the closing replies; the open page's counts follow

    with service.app.extensions["outage_desk.sessions"]() as session:
        sent = session.scalars(select(NotificationRow.ticket_id).where(
            NotificationRow.incident_id == incident["id"], NotificationRow.state == "sent")).all()
    assert sent
    after = public_comments(account, before)
    assert {t: after[t] - before[t] for t in sent} == {t: 1 for t in sent}  # one closing reply each
    expect(live.locator(".badge")).to_have_text("Resolved", timeout=15_000)
    expect(live.locator(".card-notifications")).to_contain_text(f"{len(sent)} sent")


def test_an_admin_declares_from_the_nav_bar_without_a_ticket(page, nav_bar, service, account):
    app = open_incidents(page, nav_bar, service, zendesk_user(account, account.seed.api_user_id))
    expect(app.locator("#none")).to_have_text("No incident yet.")
    app.get_by_role("button", name="Declare an outage").click()
    app.get_by_label("Title").fill("API down")
    app.get_by_label("Search query").fill("API")
    app.get_by_role("button", name="Declare", exact=True).click()

    expect(app.locator("#notice")).to_contain_text("declared: the worker takes the tickets in.")
    [declared] = [c for c in service.calls if c.method == "POST" and c.path == "/api/incidents"]
    assert (declared.status, declared.body) == (202, {"title": "API down", "query": "API", "severity": 2})
    service.work()
    card = app.locator("#incident-list > li")
    expect(card.locator(".card-counts")).not_to_have_text("0 tickets taken in", timeout=15_000)

    # The CLI's `update`: the admin writes it in the default language, the worker sends it.
    card.get_by_role("button", name="Post an update").click()
    card.get_by_label("Update text (en)").fill("Still down: engineers are on it.")
    card.get_by_role("button", name="Send the update").click()
    expect(app.locator("#notice")).to_contain_text("Update #1 posted: the worker sends it.")
    [posted] = [c for c in service.calls if c.path.endswith("/updates")]
    assert (posted.status, posted.body) == (202, {"texts": {"en": "Still down: engineers are on it."}})
    service.work()
    updated = [t for t in account.state.tickets
               if any(c["body"] == "Still down: engineers are on it." for c in account.comments(t))]
    assert updated  # the waiting customers got it


def test_an_agent_sees_the_incidents_but_no_action(page, nav_bar, service, account):
    suspected = suspect(service, account)  # before the declare: tickets of a declared outage raise no suspicion
    incident = declare(service, account, title="Checkout down")
    app = open_incidents(page, nav_bar, service, zendesk_user(account, agent_id(account, "fr")))

    cards = app.locator("#incident-list > li")
    expect(cards).to_have_count(2)
    card = cards.filter(has_text="Incident en cours")
    suspicion = cards.filter(has_text="Incident suspecté")
    expect(suspicion.locator(".card-counts")).to_have_text(f"Tickets semblables\u00a0: {len(suspected)}")
    expect(suspicion.get_by_role("button", name="Rapport")).to_be_hidden()  # nothing written: nothing to report
    expect(app.locator("h1")).to_have_text("Incidents")
    expect(card.locator(".badge")).to_have_text("Incident en cours")
    expect(card.locator(".card-since")).to_contain_text(f"Incident n°\u00a0{incident['id']}")
    expect(app.locator("#declare")).to_be_hidden()
    expect(card.get_by_role("button", name="Résoudre")).to_have_count(0)
    expect(card.get_by_role("button", name="Publier un point d’étape")).to_have_count(0)
    expect(card.get_by_role("button", name="Rapport")).to_be_visible()
    screenshot(page, "incidents-agent.png")
    # The service refuses what the page does not offer: the role is Zendesk's word, not the page's.
    with service.app.test_client() as client:
        refused = client.post(f"/api/incidents/{incident['id']}/resolve", headers={
            "Authorization": service.calls[-1].authorization})
    assert refused.status_code == 403
    declared = client.post("/api/incidents", json={"title": "x", "query": "API"},
                           headers={"Authorization": service.calls[-1].authorization})
    assert declared.status_code == 403
