"""Build the store, the gateway and the application service from a Config."""

from __future__ import annotations

from collections.abc import Callable
import threading

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock, SystemClock
from app.config import Config
from app.incident.service import OutageDesk
from app.store.db import make_engine, make_session_factory, upgrade
from app.zendesk.client import RateLimitState
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.transport import build_transport


def build_gateway(config: Config, clock: Clock, stop: threading.Event | None = None,
                  on_answer: Callable[[], None] | None = None,
                  before_write: Callable[[str], None] | None = None, patient: bool = True) -> ZendeskGateway:
    """The Zendesk gateway, with its own rate-limit bookkeeping; the hooks are the worker's (see ZendeskGateway)."""
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit, stop), rate_limit, clock, on_answer=on_answer,
                          before_write=before_write, patient=patient)


def build_sessions(config: Config) -> sessionmaker[Session]:
    """The store, migrated to the newest schema first."""
    engine = make_engine(config.database_url)
    upgrade(engine)
    return make_session_factory(engine)


def build_desk(config: Config, clock: Clock | None = None, sessions: sessionmaker[Session] | None = None,
               zendesk: bool = True, **gateway_hooks) -> OutageDesk:
    """Everything a command needs, on `sessions` or a store of its own; without `zendesk`, no gateway,
    for a command that reads the store only and so needs no Zendesk settings."""
    clock = clock or SystemClock()
    gateway = build_gateway(config, clock, **gateway_hooks) if zendesk else None
    return OutageDesk(config, sessions or build_sessions(config), gateway, clock)
