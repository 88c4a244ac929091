"""Redact the secrets customers post in their comments, as the webhook deliveries announce them."""

from __future__ import annotations

from app.hygiene.comment_redaction import RedactionReport
from app.incident.service import OutageDesk


def redact_secrets(desk: OutageDesk) -> RedactionReport:
    """One pass: scan the new deliveries' tickets, then settle the ledger's due rows.

    :raises OutageDeskError: Zendesk or the store failed the scan; its deliveries are scanned on the next pass.
    """
    return desk.redaction.run()
