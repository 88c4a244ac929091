"""Receive a webhook: verify, check, store durably, acknowledge. No Zendesk call here."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from app.clock import Clock
from app.errors import InputError
from app.intake.events import KNOWN_EVENTS, parse_ticket_event
from app.intake.signature import TIMESTAMP_HEADER, ZendeskSignature
from app.store.tables import InboxRow
from app.store.writes import dialect_insert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookRequest:
    raw_body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Receipt:
    status: int
    body: dict


class WebhookReceiver:
    """The guard ladder for Zendesk deliveries; the inbox row is committed before the 2xx."""

    def __init__(self, signature: ZendeskSignature, engine: Engine, clock: Clock, max_bytes: int):
        self._signature = signature
        # One statement, committed by itself: no BEGIN and COMMIT round trips around it. It is
        # durable before the 2xx all the same (the INSERT's own commit waits for the log on disk).
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        # One Core INSERT on a pooled connection: an ORM session per delivery cost more than the write
        # itself. ON CONFLICT DO NOTHING RETURNING answers a duplicate with no row, not an error, on
        # SQLite and PostgreSQL alike.
        self._insert = (dialect_insert(engine, InboxRow)
                        .on_conflict_do_nothing(index_elements=[InboxRow.invocation_id])
                        .returning(InboxRow.id))
        self._clock = clock
        self._max_bytes = max_bytes

    def receive(self, request: WebhookRequest) -> Receipt:
        """Store one delivery; raises InputError (and subclasses) for what we refuse."""
        if len(request.raw_body) > self._max_bytes:
            raise InputError(f"body is larger than {self._max_bytes} bytes", http_status=413)
        self._signature.verify(request.headers, request.raw_body)
        event = parse_ticket_event(request.raw_body)
        if event.event not in KNOWN_EVENTS:
            # A 2xx, or Zendesk retries it and may trip its circuit breaker.
            log.info("intake.event-ignored", extra={"event": event.event[:40]})
            return Receipt(200, {"status": "ignored", "reason": "unknown event"})
        # Zendesk may deliver one change more than once, under new invocation ids: the event's
        # own key dedupes those. Only signed content decides: the invocation id header is not signed.
        invocation = event.key or self._signed_digest(request)
        row = {"invocation_id": invocation[:100], "event": event.event, "ticket_id": event.ticket_id,
               "received_at": self._clock.now()}
        with self._engine.connect() as connection:
            row_id = connection.execute(self._insert, row).scalar()
        if row_id is None:
            return Receipt(200, {"status": "duplicate"})
        return Receipt(202, {"status": "accepted", "id": row_id})

    @staticmethod
    def _signed_digest(request: WebhookRequest) -> str:
        # A body without `updated_at`: the same signed delivery (timestamp and body, both under the
        # HMAC) is the same, whatever its unsigned headers; the same body signed later is news.
        signed = request.headers.get(TIMESTAMP_HEADER, "").encode() + b"\n" + request.raw_body
        return "sha256:" + hashlib.sha256(signed).hexdigest()
