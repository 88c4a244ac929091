"""Outage Desk's "ticket updated" trigger runs only while an outage does.

Outside an outage it would send a webhook for every update of every unsolved ticket, all year round, and
Zendesk caps webhook invocations. It is switched on at declare and off once the last incident is resolved,
through the Triggers API (`PUT /api/v2/triggers/{id}` with `active`). The reopen trigger needs no switch:
it acts only on tickets carrying the live tag, which each ticket's closing write removes.
"""

from __future__ import annotations

import logging

from app.errors import ZendeskError
from app.zendesk.gateway import ZendeskGateway

log = logging.getLogger(__name__)

UPDATE_TRIGGER_TITLE = "Outage Desk: ticket updated"


def set_update_trigger(gateway: ZendeskGateway, active: bool) -> None:
    """Switch the trigger; an account without it (setup not run) or a refusal is logged, not fatal:
    the outage's own work does not depend on it."""
    try:
        for trigger in gateway.list_all("triggers.json", "triggers"):
            if trigger.get("title") == UPDATE_TRIGGER_TITLE and bool(trigger.get("active")) != active:
                gateway.update(f"triggers/{trigger['id']}.json", "trigger", {"active": active})
    except ZendeskError as error:
        log.warning("incident.update-trigger-not-switched", extra={"active": active, "error": str(error), "why": (
            f"the '{UPDATE_TRIGGER_TITLE}' trigger could not be switched {'on' if active else 'off'} ({error})")})
