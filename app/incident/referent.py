"""The product referent (OUTAGE_DESK_REFERENT) as a Zendesk user, looked up once per process.

A look-up that fails (no such user, Zendesk not answering) is remembered for a minute, as the app's
public key is (app/intake/zaf_jwt.py): every sidebar request asks whether its caller is the referent,
and must not send Zendesk one more search each while the setting is wrong or Zendesk is down.
"""

from __future__ import annotations

import threading

from app.clock import Clock
from app.errors import InputError, ZendeskError
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.model import User

RETRY_SECONDS = 60


class ReferentLookup:
    def __init__(self, gateway: ZendeskGateway | None, clock: Clock, id_or_email: str | None):
        self._gateway = gateway
        self._clock = clock
        self._id_or_email = id_or_email
        self._lock = threading.Lock()
        self._found: User | None = None
        self._failed: tuple[Exception, float] | None = None

    def user(self) -> User | None:
        """The referent, or None when none is configured.

        :raises InputError: no such user (again, within a minute of the failed look-up).
        :raises ZendeskError: Zendesk did not answer (likewise).
        """
        if not self._id_or_email:
            return None
        now = self._clock.monotonic()
        with self._lock:
            found, failed = self._found, self._failed
        if found is not None:
            return found
        if failed and now - failed[1] < RETRY_SECONDS:
            raise failed[0]
        try:
            found = self._gateway.find_user(self._id_or_email)
        except (InputError, ZendeskError) as error:
            with self._lock:
                self._failed = (error, now)
            raise
        with self._lock:
            self._found, self._failed = found, None
        return found
