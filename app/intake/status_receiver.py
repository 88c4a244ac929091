"""Receive a status page webhook: token, size, form, mapped component; store durably, acknowledge. No Zendesk call."""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine

from app.clock import Clock
from app.errors import InputError
from app.incident.status_components import ComponentMap
from app.intake.events import json_object
from app.intake.receiver import Receipt
from app.intake.status_events import ACTED_ON, parse_status_event
from app.intake.status_token import StatusToken
from app.store.tables import StatusEventRow
from app.store.writes import dialect_insert

log = logging.getLogger(__name__)


class StatusWebhookReceiver:
    """The guard ladder for status page deliveries; the event row is committed before the 2xx."""

    def __init__(self, token: StatusToken, components: ComponentMap, engine: Engine, clock: Clock, max_bytes: int):
        self._token = token
        self._components = components
        # One statement committed by itself, as the Zendesk receiver's: durable before the answer.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._insert = (dialect_insert(engine, StatusEventRow)
                        .on_conflict_do_nothing(index_elements=[StatusEventRow.delivery_key])
                        .returning(StatusEventRow.id))
        self._clock = clock
        self._max_bytes = max_bytes

    def receive(self, token: str | None, raw_body: bytes) -> Receipt:
        """Store one delivery; raises InputError (and subclasses) for what we refuse."""
        # The token first: a stranger learns nothing about what we accept.
        self._token.verify(token)
        if len(raw_body) > self._max_bytes:
            raise InputError(f"body is larger than {self._max_bytes} bytes", http_status=413)
        event = parse_status_event(json_object(raw_body))
        # The ignored ones get a 2xx all the same: the status page would retry anything else.
        if event is None:
            return Receipt(200, {"status": "ignored", "reason": "component updates are not acted on: incidents are"})
        if event.status not in ACTED_ON:
            return Receipt(200, {"status": "ignored", "reason": f"status {event.status!r} is not acted on"})
        components = self._components.matching(list(event.components))
        if not components:
            log.info("intake.status-ignored", extra={"reason": "no mapped component"})
            return Receipt(200, {"status": "ignored", "reason": "no component of the incident is mapped "
                                                               "(OUTAGE_DESK_STATUS_COMPONENTS)"})
        row = {"delivery_key": event.delivery_key, "source_id": event.source_id, "name": event.name,
               "status": event.status, "impact": event.impact,
               "components": json.dumps(components), "opened_at": event.opened_at,
               "received_at": self._clock.now()}
        with self._engine.connect() as connection:
            row_id = connection.execute(self._insert, row).scalar()
        if row_id is None:
            return Receipt(200, {"status": "duplicate"})
        return Receipt(202, {"status": "accepted", "id": row_id})
