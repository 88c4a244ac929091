"""The agent-settings checklist in headless Chromium: admins see it and tick it, agents never see it."""

from __future__ import annotations

from tests.browser.conftest import expect, zendesk_user
from tests.browser.test_sidebar import agent_id, api_ticket, declare


def test_an_admin_ticks_the_checklist_and_an_agent_does_not_see_it(sidebar, service, account):
    incident = declare(service, account)  # the worker ran: the declaration's checklist is stored
    ticket = api_ticket(account)
    admin = zendesk_user(account, account.seed.api_user_id)

    sidebar.open(ticket, admin)

    app = sidebar.app
    section = app.locator("#agent-settings")
    expect(section).to_be_visible()
    expect(section.locator("h3")).to_have_text("Agent settings for the outage")
    # This service has no Chat OAuth token: chats per agent is changed by hand too.
    lines = section.locator(".checklist-item")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("Raise chats per agent to 5.")
    expect(lines.nth(1)).to_contain_text("Set Talk’s wrap-up time to 30 sec on every line.")
    wrap_up = section.locator('.checklist-item[data-item="wrap_up-declare"]')

    wrap_up.get_by_role("button", name="Done", exact=True).click()

    expect(wrap_up).to_contain_text(f"Ticked by user #{admin['id']}")
    expect(wrap_up.get_by_role("button")).to_have_count(0)
    tick = [c for c in sidebar.calls("POST")][-1]
    assert (tick.path, tick.status) == (f"/api/incidents/{incident['id']}/checklist/wrap_up-declare", 200)
    items = service.app.extensions["outage_desk.desk"].agent_settings.checklist(incident["id"])
    assert [(i.item, i.ticked_by) for i in items] == [("chats_per_agent-declare", None),
                                                      ("wrap_up-declare", admin["id"])]
    sidebar.screenshot("sidebar-agent-settings.png")

    sidebar.open(ticket, zendesk_user(account, agent_id(account, "en-US")))

    expect(app.locator("#incident-title")).to_have_text("API down")
    expect(app.locator("#agent-settings")).to_be_hidden()


def test_at_the_end_the_admin_sees_what_to_set_back(sidebar, service, account):
    incident = declare(service, account)
    admin = zendesk_user(account, account.seed.api_user_id)
    service.call("POST", f"/api/incidents/{incident['id']}/checklist/wrap_up-declare", admin["id"])
    service.call("POST", f"/api/incidents/{incident['id']}/resolve", admin["id"])
    service.work()  # the closing replies go out, and the end's checklist is stored

    sidebar.open(api_ticket(account), admin)

    lines = sidebar.app.locator("#agent-settings .checklist-item")
    expect(lines).to_have_count(4)
    expect(lines.nth(2)).to_contain_text("Set chats per agent back to 2.")
    expect(lines.nth(3)).to_contain_text("Set Talk’s wrap-up time back to 2 min on every line.")
    expect(lines.nth(1)).to_contain_text(f"Ticked by user #{admin['id']}")
    expect(sidebar.app.locator("#agent-settings button.tick")).to_have_count(3)
    sidebar.screenshot("sidebar-agent-settings-end.png")
