"""The sidebar app in headless Chromium: real page, real ZAF SDK build, stub Zendesk host, real service."""

from __future__ import annotations

from app.clock import SystemClock
from app.jobs.inbox import drain_inbox
from tests.browser.conftest import expect, zendesk_ticket, zendesk_user
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import WebhookSender


def agent_id(account, locale: str) -> int:
    """A sandbox agent (not admin) who works in this Zendesk locale."""
    return next(user["id"] for user in account.state.users.values()
                if user["role"] == "agent" and user["locale"] == locale)


def api_ticket(account) -> dict:
    """A customer's outage ticket whose subject says "API", so the incident's query takes it in."""
    return next(zendesk_ticket(account, ticket_id) for ticket_id in account.seed.outage_ticket_ids
                if "API" in account.ticket(ticket_id)["subject"])


def declare(service, account, title: str = "API down") -> dict:
    """An admin declared the outage from another sidebar, and the worker took the tickets in."""
    incident = service.call("POST", "/api/incidents", account.seed.api_user_id,
                            {"ticket_id": api_ticket(account)["id"], "title": title, "query": "API", "severity": 1})
    service.work()
    return incident["incident"]


def assert_session_of(call, user: dict, service) -> None:
    """The service got the session it issued when Zendesk's token named this agent."""
    claims = call.session(service.session_key)
    assert (claims["sub"], claims["ins"]) == (str(user["id"]), service.installation_id)
    assert claims["exp"] - claims["iat"] == 600


def test_shows_the_running_outage_the_script_and_no_resolve_button_to_agents(sidebar, service, account):
    incident = declare(service, account)
    ticket, agent = api_ticket(account), zendesk_user(account, agent_id(account, "en-US"))

    sidebar.open(ticket, agent)

    state = sidebar.calls("GET")[0]
    assert (state.path, state.query, state.status) == ("/api/state", f"ticket_id={ticket['id']}", 200)
    assert_session_of(state, agent, service)
    taken_in = state.answer["incident"]["tickets"]
    assert taken_in > 1 and state.answer["ticket"]["attached"] is True

    app = sidebar.app
    expect(app.locator("#incident-badge")).to_have_text("Outage in progress")
    expect(app.locator("#incident-title")).to_have_text("API down")
    expect(app.locator("#incident-since")).to_have_text("Started 1 hour ago")
    expect(app.locator("#incident-tickets")).to_have_text(f"{taken_in} tickets taken in")
    problem_ticket = state.answer["incident"]["problem_ticket_id"]
    expect(app.locator("#incident-problem")).to_have_text(f"Problem ticket #{problem_ticket}")
    expect(app.locator("#ticket-status")).to_have_text("This ticket is part of the outage.")
    expect(sidebar.button("Detach this ticket")).to_be_visible()
    expect(app.locator("#script")).to_contain_text("I am truly sorry for the inconvenience.")
    expect(app.locator("#script")).to_contain_text("Our developers have been on it since the first detection.")
    expect(app.locator("#script")).to_contain_text("We will write back to you by email as soon as it is fixed.")
    expect(app.locator("#script")).to_contain_text("May I confirm your email address?")
    expect(app.locator("#script")).to_contain_text("Skip customer authentication.")
    expect(app.locator("#script")).to_contain_text("Skip wrap-up: take the next contact.")
    expect(sidebar.button("Resolve the outage")).to_have_count(0)
    expect(sidebar.button("Declare an outage from this ticket")).to_have_count(0)
    assert incident["id"] == state.answer["incident"]["id"]

    # Zendesk loaded the page with its signed token (a form POST); the app then called its own
    # service directly, never through Zendesk's proxy, whose JWT claims the browser writes.
    page = sidebar.page_loads()[0]
    assert (page.method, page.status, page.authorization) == ("POST", 200, "")
    assert page.body.startswith("token=") and "&" not in page.body
    assert sidebar.host("requests") == []

    # The app asked the host to fit its frame to what it shows.
    height = sidebar.host("resizes")[-1]["height"]
    expect(app.locator("#script")).to_be_visible()
    assert int(height.removesuffix("px")) == sidebar.page.locator("#app-frame").bounding_box()["height"] > 300
    sidebar.screenshot("sidebar.png")


def test_declares_an_outage_from_the_ticket(sidebar, service, account):
    ticket = zendesk_ticket(account, account.write_in("URGENT: the API returns 503 errors"))
    agent = zendesk_user(account, agent_id(account, "en-US"))
    sidebar.open(ticket, agent)
    app = sidebar.app
    expect(app.locator("#calm")).to_contain_text("No outage in progress.")

    sidebar.button("Declare an outage from this ticket").click()
    expect(app.get_by_label("Title")).to_have_value("URGENT: the API returns 503 errors")
    expect(app.get_by_label("Search query")).to_have_value("API")
    expect(app.get_by_label("Severity")).to_have_value("2")
    app.get_by_label("Title").fill("API returns 503")
    app.get_by_label("Severity").select_option("1")
    sidebar.screenshot("sidebar-declare.png")
    sidebar.button("Declare the outage").click()

    expect(app.locator("#incident-title")).to_have_text("API returns 503")
    declared = sidebar.calls("POST")[0]
    assert (declared.path, declared.status) == ("/api/incidents", 202)
    assert declared.body == {"ticket_id": ticket["id"], "title": "API returns 503", "query": "API", "severity": 1}
    assert_session_of(declared, agent, service)
    # Then the page reads the state again, since declaring may have taken this ticket in.
    assert [(call.method, call.path) for call in sidebar.calls()][-1] == ("GET", "/api/state")
    expect(app.locator("#incident-badge")).to_have_text("Outage in progress")
    expect(app.locator("#declare-form")).to_be_hidden()


def test_attaches_and_detaches_the_ticket(sidebar, service, account):
    incident = declare(service, account)
    ticket = zendesk_ticket(account, account.seed.noise_ticket_ids[0])
    agent = zendesk_user(account, agent_id(account, "en-US"))
    sidebar.open(ticket, agent)
    status = sidebar.app.locator("#ticket-status")
    expect(status).to_have_text("This ticket is not part of the outage.")

    sidebar.button("Attach this ticket").click()
    expect(status).to_have_text("This ticket is part of the outage.")
    attached = sidebar.calls("POST")[-1]
    assert (attached.path, attached.status) == (f"/api/incidents/{incident['id']}/tickets", 202)
    assert attached.body == {"ticket_id": ticket["id"]}
    assert_session_of(attached, agent, service)
    service.work()
    assert "api_down" in account.ticket(ticket["id"])["tags"]

    sidebar.button("Detach this ticket").click()
    expect(status).to_have_text("This ticket is not part of the outage.")
    detached = sidebar.calls("DELETE")[-1]
    assert (detached.path, detached.status) == (f"/api/incidents/{incident['id']}/tickets/{ticket['id']}", 200)
    assert detached.body is None
    assert_session_of(detached, agent, service)
    expect(sidebar.button("Attach this ticket")).to_be_visible()


def test_an_admin_resolves_after_confirming(sidebar, service, account):
    incident = declare(service, account)
    admin = zendesk_user(account, account.seed.api_user_id)
    sidebar.open(api_ticket(account), admin)
    app = sidebar.app

    sidebar.button("Resolve the outage").click()
    expect(app.locator("#resolve-confirm")).to_contain_text("Every affected customer will get the closing reply.")
    assert sidebar.calls("POST") == []
    sidebar.button("Yes, resolve").click()

    # Resolving: the worker is sending the closing emails, and the sidebar says how far it is.
    expect(app.locator("#incident-badge")).to_have_text("Closing emails going out")
    expect(app.locator("#incident-notifications")).to_have_text("Closing emails: 0 sent, 0 to go, 0 to call back.")
    resolved = sidebar.calls("POST")[-1]
    assert (resolved.path, resolved.status, resolved.body) == (f"/api/incidents/{incident['id']}/resolve", 202, None)
    assert_session_of(resolved, admin, service)
    expect(sidebar.button("Notify my tickets")).to_be_visible()
    expect(app.locator("#script")).to_be_hidden()
    expect(sidebar.button("Resolve the outage")).to_have_count(0)

    service.work()  # the worker sends every closing reply, then the incident is resolved
    sidebar.open(api_ticket(account), admin)
    expect(app.locator("#incident-badge")).to_have_text("Resolved")
    expect(app.locator("#incident-notifications")).to_be_hidden()


def test_notifies_my_tickets_while_the_closing_emails_go_out(sidebar, service, account):
    incident = declare(service, account)
    service.call("POST", f"/api/incidents/{incident['id']}/resolve", account.seed.api_user_id)
    agent = zendesk_user(account, agent_id(account, "en-US"))
    sidebar.open(api_ticket(account), agent)
    app = sidebar.app
    expect(app.locator("#incident-badge")).to_have_text("Closing emails going out")
    expect(sidebar.button("Declare an outage from this ticket")).to_be_hidden()

    sidebar.button("Notify my tickets").click()

    expect(app.locator("#notice")).to_be_visible()
    notified = sidebar.calls("POST")[-1]
    assert (notified.path, notified.status) == (f"/api/incidents/{incident['id']}/notify-mine", 202)
    assert notified.body is None
    assert_session_of(notified, agent, service)
    queued = notified.answer["queued"]
    expect(app.locator("#notice")).to_have_text(f"{queued} closing {'reply' if queued == 1 else 'replies'} queued.")


def test_an_error_from_the_service_shows_in_the_alert(sidebar, service, account):
    ticket = zendesk_ticket(account, account.write_in("API returns 503"))
    sidebar.open(ticket, zendesk_user(account, agent_id(account, "en-US")))
    sidebar.button("Declare an outage from this ticket").click()
    # Another agent declares first, while this one fills in the form.
    service.call("POST", "/api/incidents", account.seed.api_user_id,
                 {"ticket_id": ticket["id"], "title": "API down", "query": "API", "severity": 2})

    sidebar.button("Declare the outage").click()

    alert = sidebar.app.get_by_role("alert")
    expect(alert).to_be_visible()
    refused = sidebar.calls("POST")[-1]
    assert refused.status == 409 and refused.answer["error"]
    expect(alert.locator(".c-callout__title")).to_have_text("Outage Desk could not do that")
    expect(alert.locator(".c-callout__paragraph")).to_have_text(refused.answer["error"])
    # Then the page reads the state again and shows the other agent's outage.
    expect(sidebar.app.locator("#incident-title")).to_have_text("API down")
    assert [(call.method, call.path) for call in sidebar.calls()][-1] == ("GET", "/api/state")
    expect(sidebar.app.locator("#declare-form")).to_be_hidden()
    sidebar.screenshot("sidebar-error.png")


def test_speaks_the_agents_language(sidebar, service, account):
    declare(service, account, title="API en panne")
    agent = zendesk_user(account, agent_id(account, "fr"))
    sidebar.open(api_ticket(account), agent)
    app = sidebar.app

    expect(app.locator("html")).to_have_attribute("lang", "fr")
    expect(app.locator("#incident-badge")).to_have_text("Incident en cours")
    expect(app.locator("#incident-since")).to_have_text("Début : il y a 1 heure")
    expect(app.locator("#ticket-status")).to_have_text("Ce ticket est rattaché à l’incident.")
    expect(sidebar.button("Détacher ce ticket")).to_be_visible()
    expect(app.locator("#script")).to_contain_text("Ce qu’il faut dire")
    expect(app.locator("#script")).to_contain_text("Nos développeurs sont dessus depuis la première détection.")
    expect(app.locator("#script")).to_contain_text("Pas d’authentification client.")
    sidebar.screenshot("sidebar-fr.png")


def test_an_agent_cannot_resolve_from_devtools_whatever_the_page_sends(sidebar, service, account):
    incident = declare(service, account)
    agent = zendesk_user(account, agent_id(account, "en-US"))
    sidebar.open(api_ticket(account), agent)
    emails = len(account.state.emails)
    frame = sidebar.page.frame(name="app-frame")

    # The agent's devtools, in the sidebar's own frame: its real session, claims of an admin everywhere else.
    statuses = frame.evaluate("""async (incidentId) => {
        const session = document.querySelector('meta[name="outage-desk-session"]').content;
        const [header, payload, signature] = session.split('.');
        const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
        const forged = btoa(JSON.stringify({...claims, sub: String(ADMIN)})).replace(/=+$/, '')
          .replace(/\\+/g, '-').replace(/\\//g, '_');
        const attempts = [
          {Authorization: 'Bearer ' + session, 'X-User-Id': String(ADMIN), 'X-Role': 'admin'},
          {Authorization: 'Bearer ' + [header, forged, signature].join('.')},
        ];
        const answers = [];
        for (const headers of attempts) {
          const response = await fetch('api/incidents/' + incidentId + '/resolve', {
            method: 'POST', headers: {...headers, 'Content-Type': 'application/json'},
            body: JSON.stringify({user_id: ADMIN, role: 'admin'})});
          answers.push(response.status);
        }
        return answers;
    }""".replace("ADMIN", str(account.seed.api_user_id)), incident["id"])

    assert statuses == [403, 401]
    state = service.call("GET", f"/api/state?ticket_id={api_ticket(account)['id']}", account.seed.api_user_id)
    assert state["incident"]["state"] == "declared" and len(account.state.emails) == emails


def suspect(service, account) -> list[int]:
    """Five customers write about the API within a minute: the worker's detection opens a suspected outage."""
    tickets = [account.write_in(subject) for subject in ("API down", "The API is down!", "api DOWN",
                                                         "Is the API down?", "api is down")]
    webhooks = WebhookSender(service.app.test_client(), WEBHOOK_SECRET, SystemClock())
    for ticket_id in tickets:
        webhooks.ticket_event(ticket_id)
    drain_inbox(service.app.extensions["outage_desk.desk"])
    return tickets


def test_an_admin_confirms_a_suspected_outage_with_its_query_prefilled(sidebar, service, account):
    tickets = suspect(service, account)
    as_written = account.ticket(tickets[0])
    sidebar.open(zendesk_ticket(account, tickets[0]), zendesk_user(account, account.seed.api_user_id))
    app = sidebar.app

    expect(app.locator("#suspected .badge")).to_have_text("Suspected outage")
    expect(app.locator("#suspected-title")).to_have_text("API down")
    expect(app.locator("#suspected-tickets")).to_have_text("5 tickets like this one in 1 minute")
    expect(app.locator("#suspected")).to_contain_text("Nothing has been written to any ticket yet.")
    expect(app.get_by_label("Declare with this query")).to_have_value("api down")
    expect(sidebar.button("Dismiss")).to_be_visible()
    assert account.ticket(tickets[0]) == as_written
    sidebar.screenshot("sidebar-suspected.png")

    sidebar.button("Confirm the outage").click()

    expect(app.locator("#incident-badge")).to_have_text("Outage in progress")
    expect(app.locator("#suspected")).to_be_hidden()
    confirmed = [call for call in sidebar.calls("POST") if call.path.endswith("/confirm")][0]
    assert (confirmed.status, confirmed.body) == (202, {"query": "api down"})
    service.work()
    assert "api_down" in account.ticket(tickets[0])["tags"]


def test_an_agent_sees_the_suspicion_without_confirm_or_dismiss(sidebar, service, account):
    tickets = suspect(service, account)
    # An agent who is not the product referent (a French-speaking agent too).
    agent = next(user_id for user_id in account.seed.agent_ids if account.state.users[user_id]["locale"] == "fr")
    sidebar.open(zendesk_ticket(account, tickets[-1]), zendesk_user(account, agent))
    app = sidebar.app

    expect(app.locator("#suspected .badge")).to_have_text("Incident suspecté")
    expect(app.locator("#suspected-tickets")).to_have_text("5 tickets comme celui-ci en 1 minute")
    expect(app.locator("#suspected-waiting")).to_be_visible()
    expect(app.locator("#suspected-form")).to_be_hidden()
    expect(app.locator("#calm")).to_contain_text("Aucun")
    sidebar.screenshot("sidebar-suspected-agent.png")


def test_shows_upcoming_maintenance_in_the_agents_language(sidebar, service, account):
    from datetime import datetime, timedelta, timezone

    from app.incident.maintenance import WindowSpec

    desk = service.app.extensions["outage_desk.desk"]
    start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(second=0, microsecond=0)
    desk.maintenance.schedule(WindowSpec(title="Database upgrade", query="maintenance", tag="maintenance",
                                         severity=3, cr_value="cr", starts_at=start, duration=timedelta(minutes=20)))
    agent = next(user_id for user_id in account.seed.agent_ids if account.state.users[user_id]["locale"] == "fr")
    sidebar.open(api_ticket(account), zendesk_user(account, agent))
    app = sidebar.app

    expect(app.locator("#maintenance h3")).to_have_text("Maintenance programmée")
    expect(app.locator("#maintenance-windows li")).to_have_count(1)
    expect(app.locator("#maintenance-windows li")).to_contain_text("Database upgrade")
    expect(app.locator("#maintenance-windows li")).to_contain_text("pour 20 minutes")
    expect(app.locator("#calm")).to_be_visible()
    sidebar.screenshot("sidebar-maintenance.png")
