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
from collections import deque
from dataclasses import dataclass

import jwt

from app.clock import Clock
from app.errors import ConfigError, InputError, SignatureError, ZendeskError
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
MAX_CACHED = 1000
LOOKUPS_PER_MINUTE = 20
# `sub` names the user by API URL (…/api/v2/users/123.json); a bare id is read as well.
USER_SUB = re.compile(r"(?:^|/api/v2/users/)(\d{1,19})(?:\.json)?$")


@dataclass(frozen=True)
class ZafIdentity:
    """The user, account and installation a verified token names."""

    user_id: int
    account: str
    installation_id: int


class AppKeys:
    """Installations' apps and apps' public keys, read from Zendesk and cached.

    The installation id comes from a token not yet verified: unknown ones are remembered too, the
    cache is bounded, and lookups of ids not seen before are throttled, so that anyone posting
    made-up tokens cannot spend the account's API budget.
    """

    def __init__(self, gateway: ZendeskGateway, clock: Clock):
        self._gateway = gateway
        self._clock = clock
        self._lock = threading.Lock()
        self._apps: dict[int, tuple[int | None, float]] = {}
        self._keys: dict[int, tuple[str, float]] = {}
        self._lookups: deque[float] = deque()

    def app_of(self, installation_id: int) -> int:
        """The app an installation of this account is of.

        :raises SignatureError: Zendesk knows no such installation in this account.
        :raises InputError: (429) too many installations not seen before asked about this minute.
        """
        now = self._clock.monotonic()
        with self._lock:
            found = self._apps.get(installation_id)
            if found is None or now - found[1] >= KEY_TTL_SECONDS:
                found = None
                while self._lookups and now - self._lookups[0] >= 60:
                    self._lookups.popleft()
                if len(self._lookups) >= LOOKUPS_PER_MINUTE:
                    raise InputError("too many unknown app installations: try again in a minute", http_status=429)
                self._lookups.append(now)
        if found is None:
            try:
                app_id = self._gateway.app_installation(installation_id)
            except ZendeskError as error:
                if error.status != 404:
                    raise
                app_id = None
            found = (app_id, now)
            with self._lock:
                self._apps[installation_id] = found
                if len(self._apps) > MAX_CACHED:
                    self._apps.pop(next(iter(self._apps)))
        if found[0] is None:
            raise SignatureError("token names an app installation this account does not have")
        return found[0]

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
