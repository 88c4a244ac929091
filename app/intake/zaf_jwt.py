"""Zendesk's signed-URL token: who opened the sidebar, as Zendesk says it, not as the browser does.

With `"signedUrls": true` in the manifest, Zendesk loads the app's page by POSTing a form field
`token`: a JWT it signs RS256 with the app's private key, naming the account (`iss`), the app
installation (`aud`) and the user (`sub`). Its public half is at
GET /api/v2/apps/{app_id}/public_key.pem (Zendesk Apps API, "Get App Public Key"); the installation
(and so the app) is read from Zendesk with our own API credentials, never from the token.
Sources: https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app/
and https://developer.zendesk.com/api-reference/ticketing/apps/apps/.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

import jwt

from app.clock import Clock
from app.errors import ConfigError, SignatureError, ZendeskError
from app.intake.events import parse_id
from app.zendesk.gateway import ZendeskGateway

# RS256 only: refuses "none", HS256 signed with the public key as a secret, and the rest.
ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60  # our clock against Zendesk's
# Zendesk signs the token just before the page loads; an old one is a replay.
MAX_AGE_SECONDS = 600
KEY_TTL_SECONDS = 3600
# A signature that fails against a cached key fetches the key again (rotation), at most this often.
REFETCH_SECONDS = 60


@dataclass(frozen=True)
class ZafIdentity:
    """The user, account and installation a verified token names."""

    user_id: int
    account: str
    installation_id: int


class AppKey:
    """The Outage Desk app's public key, read from Zendesk and cached.

    Its id is the operator's to give (OUTAGE_DESK_APP_ID), never the token's: any app the account
    installs receives Zendesk's tokens, and none but ours may sign in here with them. A key that
    cannot be fetched is remembered as such for a minute, so that tokens posted by anyone cannot make
    the service ask Zendesk again and again.
    """

    def __init__(self, gateway: ZendeskGateway, clock: Clock, app_id: int):
        self.app_id = app_id
        self._gateway = gateway
        self._clock = clock
        self._lock = threading.Lock()
        self._pem: tuple[str, float] | None = None
        self._failed: tuple[Exception, float] | None = None

    def public_key(self, max_age: float = KEY_TTL_SECONDS) -> str:
        """The app's public key (PEM), fetched again when older than `max_age` seconds.

        :raises ZendeskError: Zendesk did not give it (again within a minute of a failure).
        """
        now = self._clock.monotonic()
        with self._lock:
            pem, failed = self._pem, self._failed
        if pem and now - pem[1] < max_age:
            return pem[0]
        if failed and now - failed[1] < REFETCH_SECONDS:
            if pem:
                return pem[0]  # the key we had, rather than none, until Zendesk answers again
            raise failed[0]
        try:
            fetched = self._gateway.app_public_key(self.app_id)
        except ZendeskError as error:
            if error.status == 404:
                error = ConfigError("OUTAGE_DESK_APP_ID", "names no app of this Zendesk account")
            with self._lock:
                self._failed = (error, now)
            if pem:
                return pem[0]
            raise error from None
        with self._lock:
            self._pem, self._failed = (fetched, now), None
        return fetched


class ZafSignedUrl:
    """Verifies the `token` Zendesk POSTs to the sidebar's page.

    `issuer` is the account's host ("acme.zendesk.com"), `base_url` its API root. A token our app's
    key verifies names one of its installations: Zendesk signs with the key of the app it loads.
    """

    def __init__(self, key: AppKey, issuer: str, base_url: str, clock: Clock):
        self._key = key
        self._issuer = issuer
        self._audience = re.compile(re.escape(f"{base_url}/api/v2/apps/installations/") + r"([0-9]{1,19})\.json")
        # `sub` names the user by the account's API URL (…/api/v2/users/123.json); a bare id is read as well.
        self._subject = re.compile(f"(?:{re.escape(base_url)}/api/v2/users/)?([0-9]{{1,19}})(?:\\.json)?")
        self._clock = clock

    def verify(self, token: str | None) -> ZafIdentity:
        """:raises SignatureError: missing, malformed, forged, foreign, expired or replayed token."""
        if not token:
            raise SignatureError("open Outage Desk from Zendesk: the page needs Zendesk's signed token")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise SignatureError("Zendesk's token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise SignatureError("Zendesk's token is not signed RS256")
        audience = unverified.get("aud")
        match = self._audience.fullmatch(audience) if isinstance(audience, str) else None
        if match is None:
            raise SignatureError("token is for another Zendesk account")
        installation_id = int(match[1])
        claims = self._decode(token, audience)
        self._check_times(claims)
        found = self._subject.fullmatch(claims["sub"]) if isinstance(claims["sub"], str) else None
        if found is None:
            raise SignatureError("token's subject is not a Zendesk user")
        return ZafIdentity(user_id=parse_id(found[1], "sub"), account=self._issuer,
                           installation_id=installation_id)

    def _decode(self, token: str, audience: str) -> dict:
        options = {"require": ["exp", "iat", "iss", "aud", "sub"], "verify_exp": False, "verify_nbf": False,
                   "verify_iat": False}
        for max_age in (None, REFETCH_SECONDS):
            key = self._key.public_key() if max_age is None else self._key.public_key(max_age)
            try:
                return jwt.decode(token, key, algorithms=ALGORITHMS, audience=audience, issuer=self._issuer,
                                  options=options)
            except jwt.InvalidSignatureError:
                continue  # perhaps a rotated key: once more with a key at most a minute old
            except jwt.InvalidIssuerError:
                raise SignatureError("token is for another Zendesk account") from None
            except (jwt.InvalidKeyError, ValueError):
                raise ConfigError("ZENDESK_URL", "answers an app public key that is not an RSA key") from None
            except jwt.InvalidTokenError as error:
                raise SignatureError(f"invalid Zendesk token: {type(error).__name__}") from None
        raise SignatureError("Zendesk's token signature does not match the app's public key")

    def _check_times(self, claims: dict) -> None:
        now = self._clock.now().timestamp()
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if name == "nbf" and value is None:
                continue
            # NaN and infinities are no times; an int is one, however large (math.isfinite overflows on it).
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or (isinstance(value, float) and not math.isfinite(value))):
                raise SignatureError(f"token's {name} is not a time")
        if claims["exp"] + LEEWAY_SECONDS < now:
            raise SignatureError("Zendesk's token has expired: reload the ticket")
        if max(claims["iat"], claims.get("nbf") or 0) > now + LEEWAY_SECONDS:
            raise SignatureError("Zendesk's token is not valid yet")
        if claims["iat"] < now - MAX_AGE_SECONDS:
            raise SignatureError("Zendesk's token is too old: reload the ticket")
