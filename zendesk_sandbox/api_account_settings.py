"""Account Settings API: Show Settings, the account's localization (its time zone) only.

https://developer.zendesk.com/api-reference/ticketing/account-configuration/account_settings/
GET /api/v2/account/settings, allowed for agents, answers {"settings": {...}} grouped by area; the
"localization" object holds locale_ids, time_zone (Zendesk's display name, e.g. "Paris") and
iana_time_zone (e.g. "Europe/Paris"). The sandbox serves that group; tests and the demo set the zone
through POST /_sandbox/account/time_zone (zendesk_sandbox/control.py).
"""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox.context import current

bp = Blueprint("api_account_settings", __name__)

# The locale ids of the languages the seeded requesters write in (Zendesk's List Locales ids).
SEEDED_LOCALE_IDS = [1, 16, 8, 2, 22, 1176]


@bp.get("/api/v2/account/settings")
def show():
    """The account's settings; of them, the sandbox knows its localization."""
    state = current().state
    with state.lock:
        time_zone, iana_time_zone = state.time_zone
    return {"settings": {"localization": {"locale_ids": SEEDED_LOCALE_IDS, "time_zone": time_zone,
                                          "iana_time_zone": iana_time_zone}}}
