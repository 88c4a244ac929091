"""The sidebar's signed requests: an HS256 JWT made by Zendesk's proxy with the app's shared secret."""

from __future__ import annotations

import math
from dataclasses import dataclass

import jwt

from app.clock import Clock, SystemClock
from app.errors import InputError, SignatureError
from app.intake.events import parse_id

# ZAF signs client.request JWTs with HS256 only; pinning it refuses "none" and key-confusion tricks.
ALGORITHMS = ["HS256"]
LEEWAY_SECONDS = 30
# The sidebar asks for 60-second tokens; JavaScript in the sidebar could ask the proxy for
# long-lived ones, so anything valid for longer than this is refused.
MAX_LIFETIME_SECONDS = 300


@dataclass(frozen=True)
class SidebarClaims:
    user_id: int
    account: str


class SidebarToken:
    """Verifies `Authorization: Bearer <jwt>` from the sidebar: signature, expiry, account."""

    def __init__(self, shared_secret: str, account: str | None, clock: Clock | None = None):
        self._secret = shared_secret
        self._account = account
        self._clock = clock or SystemClock()

    def verify(self, authorization: str | None) -> SidebarClaims:
        """:raises SignatureError: missing, forged, expired or foreign token."""
        if not authorization or not authorization.startswith("Bearer "):
            raise SignatureError("missing bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            # PyJWT checks exp against the wall clock; we check it against ours so tests can move time.
            claims = jwt.decode(token, self._secret, algorithms=ALGORITHMS,
                                options={"require": ["exp", "sub"], "verify_exp": False})
        except jwt.InvalidTokenError as error:
            raise SignatureError(f"invalid token: {type(error).__name__}") from None
        now = self._clock.now().timestamp()
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not math.isfinite(exp):
            raise SignatureError("token expiry is not a time")
        if exp + LEEWAY_SECONDS < now:
            raise SignatureError("expired token")
        if exp > now + MAX_LIFETIME_SECONDS:
            raise SignatureError("token lives too long")
        try:
            user_id = parse_id(claims["sub"], "sub")
        except InputError:
            raise SignatureError("token subject is not a Zendesk user id") from None
        account = str(claims.get("account") or "")
        if self._account and account != self._account:
            raise SignatureError("token is for another Zendesk account")
        return SidebarClaims(user_id=user_id, account=account)
