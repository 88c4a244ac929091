"""A macro an admin saved in Zendesk's rich-text editor, applied by Outage Desk: the sandbox takes the update item."""

import requests

from tests.scenarios.conftest import API_EMAIL, API_TOKEN

RICH_TEXT = "<p>Bonjour {{ticket.requester.first_name}},</p><p>L'API fonctionne de nouveau.<br>Merci !</p>"


def test_the_update_item_of_a_rich_text_macro_lands_as_zendesk_would_apply_the_macro(account, desk):
    ticket_id = account.write_in("The API returns 500 errors", locale="fr-FR", name="Jeanne Client")
    impact = account.seed.business_impact_field_id
    macro_id = account.seed.macro_ids["Outage Desk closing (fr)"]
    requests.put(f"{account.url}/api/v2/macros/{macro_id}.json", auth=(f"{API_EMAIL}/token", API_TOKEN), timeout=5,
                 json={"macro": {"actions": [
                     {"field": "comment_value_html", "value": RICH_TEXT},
                     {"field": "comment_mode_is_public", "value": "true"},
                     {"field": "status", "value": "solved"},
                     {"field": "assignee_id", "value": "current_user"},
                     {"field": "current_tags", "value": "outage_followup"},
                     {"field": f"custom_fields_{impact}", "value": "impact_2"}]}}).raise_for_status()
    referent = account.seed.referent_id
    mark = len(account.state.emails)

    closing = desk.gateway.macros("Outage Desk closing", protected_tags={"api_down"})["fr"]
    item = closing.apply_to({"id": ticket_id, "additional_tags": ["outage_desk_closed_1", "outage_desk_closed"]},
                            referent, protected_tags={"api_down"})
    outcome = desk.gateway.bulk_update([item])

    assert outcome.succeeded == {ticket_id}
    ticket = account.ticket(ticket_id)
    assert ticket["status"] == "solved" and ticket["assignee_id"] == referent
    assert {"outage_desk_closed_1", "outage_desk_closed", "outage_followup", "impact_2"} <= set(ticket["tags"])
    reply = account.comments(ticket_id)[-1]
    assert reply["public"] and reply["author_id"] == referent
    assert reply["html_body"].startswith("<p>Bonjour Jeanne,</p>")
    [email] = account.emails_since(mark)
    assert email["body"].startswith("Bonjour Jeanne,") and "L'API fonctionne de nouveau." in email["body"]
