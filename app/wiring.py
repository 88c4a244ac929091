"""Build the store, the gateway and the application service from a Config."""

from __future__ import annotations

from app.clock import Clock, SystemClock
from app.config import Config
from app.incident.service import OutageDesk
from app.store.db import make_engine, make_session_factory, upgrade
from app.zendesk.client import RateLimitState, build_zenpy
from app.zendesk.gateway import ZendeskGateway


def build_gateway(config: Config, clock: Clock) -> ZendeskGateway:
    """The Zendesk gateway, with its own rate-limit bookkeeping."""
    rate_limit = RateLimitState()
    return ZendeskGateway(build_zenpy(config, rate_limit), rate_limit, clock)


def build_desk(config: Config, clock: Clock | None = None) -> OutageDesk:
    """Everything a command needs; migrates the store to the newest schema first."""
    clock = clock or SystemClock()
    engine = make_engine(config.database_url)
    upgrade(engine)
    return OutageDesk(config, make_session_factory(engine), build_gateway(config, clock), clock)
