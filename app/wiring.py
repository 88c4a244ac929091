"""Build the store, the gateway and the application service from a Config."""

from __future__ import annotations

from app.clock import Clock, SystemClock
from app.config import Config
from app.incident.service import OutageDesk
from app.store.db import make_engine, make_session_factory, upgrade
from app.zendesk.client import RateLimitState, build_zenpy
from app.zendesk.gateway import ZendeskGateway


def build_desk(config: Config, clock: Clock | None = None) -> OutageDesk:
    """Everything a command needs; migrates the store to the newest schema first."""
    clock = clock or SystemClock()
    engine = make_engine(config.database_url)
    upgrade(engine)
    rate_limit = RateLimitState()
    gateway = ZendeskGateway(build_zenpy(config, rate_limit), rate_limit, clock)
    return OutageDesk(config, make_session_factory(engine), gateway, clock)
