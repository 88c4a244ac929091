"""Our own short-lived session for the sidebar, issued once Zendesk has vouched for the user.

Zendesk's signed token comes only with the page load; the sidebar's later calls carry this
session instead: an HS256 JWT signed with a key only the service holds (derived from
OUTAGE_DESK_SECRET_KEY), bound to the user, the account and the app installation. It lives ten
minutes and the sidebar renews it while open, up to twelve hours after Zendesk's token: then the
agent reloads the ticket and Zendesk vouches again.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from app.clock import Clock
from app.errors import InputError, SignatureError
from app.intake.events import parse_id
from app.intake.zaf_jwt import ZafIdentity

ALGORITHMS = ["HS256"]
AUDIENCE = "outage-desk/sidebar"
LIFETIME_SECONDS = 600
MAX_SIGN_IN_AGE_SECONDS = 12 * 3600
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class SidebarUser:
    """A caller Zendesk vouched for, as the session names them."""

    user_id: int
    installation_id: int
    signed_in_at: int  # when Zendesk vouched (Unix seconds)
    expires_at: int


class SidebarSession:
    """Issues and verifies the sidebar's session tokens for one account."""

    def __init__(self, key: bytes, account: str, clock: Clock):
        self._key = key
        self._account = account
        self._clock = clock

    def issue(self, identity: ZafIdentity) -> str:
        """A session for the user Zendesk's token named, starting now."""
        now = int(self._clock.now().timestamp())
        return self._token(identity.user_id, identity.installation_id, signed_in_at=now, now=now)

    def lifetime(self) -> int:
        """Seconds a session lives: the page renews it before."""
        return LIFETIME_SECONDS

    def renew(self, user: SidebarUser) -> str:
        """A fresh session for a verified one, while the sign-in is less than twelve hours old.

        :raises SignatureError: the sign-in is too old: Zendesk must vouch again.
        """
        now = int(self._clock.now().timestamp())
        if now - user.signed_in_at > MAX_SIGN_IN_AGE_SECONDS:
            raise SignatureError("the session is over: reload the ticket to sign in again")
        return self._token(user.user_id, user.installation_id, signed_in_at=user.signed_in_at, now=now)

    def verify(self, authorization: str | None) -> SidebarUser:
        """:raises SignatureError: missing, forged, expired or foreign session."""
        if not authorization or not authorization.startswith("Bearer "):
            raise SignatureError("missing session: open Outage Desk from Zendesk")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(token, self._key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=self._account,
                                options={"require": ["exp", "sub", "ins", "auth_time", "aud", "iss"],
                                         "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidTokenError as error:
            raise SignatureError(f"invalid session: {type(error).__name__}") from None
        now = self._clock.now().timestamp()
        expires_at, signed_in_at = claims["exp"], claims["auth_time"]
        for value in (expires_at, signed_in_at):
            # Whole seconds, as we write them (math.isfinite would overflow on a huge int: a 500).
            if isinstance(value, bool) or not isinstance(value, int):
                raise SignatureError("invalid session: its times are not times")
        if expires_at + LEEWAY_SECONDS < now:
            raise SignatureError("the session has expired: reload the ticket")
        if expires_at > now + LIFETIME_SECONDS + LEEWAY_SECONDS:
            # Only our key signs sessions, and never for longer: such a session was not written by us.
            raise SignatureError("invalid session: it lives longer than sessions do")
        try:
            return SidebarUser(user_id=parse_id(claims["sub"], "sub"),
                               installation_id=parse_id(claims["ins"], "ins"),
                               signed_in_at=signed_in_at, expires_at=expires_at)
        except InputError:
            raise SignatureError("invalid session: it names no user") from None

    def _token(self, user_id: int, installation_id: int, signed_in_at: int, now: int) -> str:
        claims = {"iss": self._account, "aud": AUDIENCE, "sub": str(user_id), "ins": installation_id,
                  "auth_time": signed_in_at, "iat": now, "exp": now + LIFETIME_SECONDS}
        return jwt.encode(claims, self._key, algorithm=ALGORITHMS[0])

