"""Who the caller is, as Zendesk says it: roles read from Zendesk and cached briefly."""

from __future__ import annotations

import threading

from app.clock import Clock
from app.zendesk.gateway import ZendeskGateway

ROLE_TTL_SECONDS = 300  # a demoted agent loses access within five minutes


class RoleCache:
    """A user's Zendesk role, never taken from a claim the browser could alter."""

    def __init__(self, gateway: ZendeskGateway, clock: Clock, ttl: float = ROLE_TTL_SECONDS):
        self._gateway = gateway
        self._clock = clock
        self._ttl = ttl
        self._roles: dict[int, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def role_of(self, user_id: int) -> str | None:
        """The role ("end-user", "agent", "admin"), or None for an unknown, suspended or deleted user."""
        now = self._clock.monotonic()
        with self._lock:
            cached = self._roles.get(user_id)
        if cached and now - cached[1] < self._ttl:
            return cached[0]
        user = self._gateway.users([user_id]).get(user_id)
        # Zendesk keeps a suspended agent's role: it is their access that ends.
        role = user.role if user and not user.suspended else None
        with self._lock:
            self._roles[user_id] = (role, now)
        return role
