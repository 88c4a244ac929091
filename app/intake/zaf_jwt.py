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
RELIST_SECONDS = 60
# `sub` names the user by API URL (…/api/v2/users/123.json); a bare id is read as well.
USER_SUB = re.compile(r"(?:^|/api/v2/users/)(\d{1,19})(?:\.json)?$")


@dataclass(frozen=True)
class ZafIdentity:
    """The user, account and installation a verified token names."""

    user_id: int
    account: str
    installation_id: int


class AppKeys:
    """The account's app installations and own apps, and apps' public keys, read from Zendesk and cached.

    The installation id comes from a token not yet verified: an id not known makes the service
    list the installations again at most once a minute, so made-up tokens cannot spend the
    account's API budget, and a new installation is known within a minute.
    """

    def __init__(self, gateway: ZendeskGateway, clock: Clock):
        self._gateway = gateway
        self._clock = clock
        self._lock = threading.Lock()
        self._installations: dict[int, int] = {}
        self._owned: set[int] = set()
        self._listed_at: float | None = None
        self._keys: dict[int, tuple[str, float]] = {}

    def app_of(self, installation_id: int) -> int:
        """The app of one of this account's installations, which must be an app the account owns.

        :raises SignatureError: no such installation, or another vendor's app.
        """
        with self._lock:
            now = self._clock.monotonic()
            age = None if self._listed_at is None else now - self._listed_at
            if age is None or age >= KEY_TTL_SECONDS or (installation_id not in self._installations
                                                         and age >= RELIST_SECONDS):
                self._installations = self._gateway.app_installations()
                self._owned = self._gateway.owned_apps()
                self._listed_at = now
            app_id = self._installations.get(installation_id)
            owned = app_id in self._owned
        if app_id is None:
            raise SignatureError("token names an app installation this account does not have")
        if not owned:
            # Another vendor's app receives Zendesk's tokens too: it must not sign in here with them.
            raise SignatureError("token is for an app this account does not own")
        return app_id

    def public_key(self, app_id: int, max_age: float = KEY_TTL_SECONDS) -> str:
        """The app's public key (PEM), fetched again when older than `max_age` seconds."""
        cached = self._fresh(self._keys, app_id, max_age)
        if cached is not None:
            return cached
        try:
            pem = self._gateway.app_public_key(app_id)
        except ZendeskError as error:
            if error.status == 404:  # only a pinned id can be unknown: the others come from Zendesk
                raise ConfigError("OUTAGE_DESK_APP_ID", "names no app of this Zendesk account") from None
            raise
        with self._lock:
            self._keys[app_id] = (pem, self._clock.monotonic())
        return pem

    def _fresh(self, cache: dict, key: int, max_age: float):
        with self._lock:
            found = cache.get(key)
        if found and self._clock.monotonic() - found[1] < max_age:
            return found[0]
        return None


class ZafSignedUrl:
    """Verifies the `token` Zendesk POSTs to the sidebar's page.

    `issuer` is the account's host ("acme.zendesk.com"), `base_url` its API root; `app_id`, when
    the admin pins it, refuses installations of any other app.
    """

    def __init__(self, keys: AppKeys, issuer: str, base_url: str, clock: Clock, app_id: int | None = None):
        self._keys = keys
        self._issuer = issuer
        self._audience = re.compile(re.escape(f"{base_url}/api/v2/apps/installations/") + r"(\d{1,19})\.json")
        self._clock = clock
        self._app_id = app_id

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
        # A pinned app needs no lookup: a token its key verifies names one of its installations.
        app_id = self._app_id if self._app_id is not None else self._keys.app_of(installation_id)
        claims = self._decode(token, app_id, audience)
        self._check_times(claims)
        found = USER_SUB.search(str(claims["sub"]))
        if found is None:
            raise SignatureError("token's subject is not a Zendesk user")
        return ZafIdentity(user_id=parse_id(found[1], "sub"), account=self._issuer,
                           installation_id=installation_id)

    def _decode(self, token: str, app_id: int, audience: str) -> dict:
        options = {"require": ["exp", "iat", "iss", "aud", "sub"], "verify_exp": False, "verify_nbf": False,
                   "verify_iat": False}
        for max_age in (None, REFETCH_SECONDS):
            key = self._keys.public_key(app_id) if max_age is None else self._keys.public_key(app_id, max_age)
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
