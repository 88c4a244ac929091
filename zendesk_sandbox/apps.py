"""The account's apps and installations, and the RS256 token Zendesk signs for a server-side app.

An app whose manifest says `"signedUrls": true` is loaded by Zendesk POSTing a form field `token`
to the app's page: a JWT signed RS256 with a key pair Zendesk keeps per app, whose public half
anyone may read at GET /api/v2/apps/{app_id}/public_key.pem.

- https://developer.zendesk.com/api-reference/ticketing/apps/apps/ (Get App Public Key: "Allowed
  for everyone"; Install App; List and Show App Installation, the latter answered unwrapped)
- https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app/
  (the form field `token`, RS256, `aud` naming the installation, `iss` the account's host)

The claims follow the ZAF JWT: iss, aud, sub (the user, as the user's API URL), iat, nbf, exp,
cnf.jku (where the public key is) and context (product and location).
"""

from __future__ import annotations

import threading
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The app an admin uploaded: Zendesk gives a private app an id when its zip is uploaded.
OUTAGE_DESK_APP_ID = 9001
TOKEN_LIFETIME = 300  # seconds; the page is loaded right after Zendesk signs


class AppRegistry:
    """The account's private apps (one, pre-uploaded) and their installations; one key pair per app."""

    def __init__(self, now):
        self._now = now
        self._lock = threading.Lock()
        self._keys: dict[int, rsa.RSAPrivateKey] = {}
        self.apps = {OUTAGE_DESK_APP_ID: {"id": OUTAGE_DESK_APP_ID, "name": "Outage Desk", "visibility": "private",
                                          "framework_version": "2.0", "products": ["support"]}}
        self.installations: dict[int, dict] = {}
        self._next_installation = 360000001

    def _key(self, app_id: int) -> rsa.RSAPrivateKey:
        with self._lock:
            if app_id not in self._keys:
                self._keys[app_id] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._keys[app_id]

    def public_key_pem(self, app_id: int) -> str:
        """The app's public key in PEM format."""
        return self._key(app_id).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def install(self, app_id: int, settings: dict, at: datetime) -> dict:
        """A new installation of `app_id` with these settings."""
        with self._lock:
            installation_id = self._next_installation
            self._next_installation += 1
            stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            installation = {"id": installation_id, "app_id": app_id, "product": "support", "enabled": True,
                            "settings": dict(settings), "created_at": stamp, "updated_at": stamp,
                            "role_restrictions": None, "group_restrictions": [], "servable": True}
            self.installations[installation_id] = installation
            return installation

    def signed_url_token(self, installation_id: int, user_id: int, base_url: str, location: str) -> str:
        """The token Zendesk POSTs to the installation's page when `user_id` opens it at `location`."""
        installation = self.installations[installation_id]
        app_id = installation["app_id"]
        now = int(self._now().timestamp())
        host = base_url.split("://", 1)[1]
        claims = {
            "iss": host,
            "aud": f"{base_url}/api/v2/apps/installations/{installation_id}.json",
            "sub": f"{base_url}/api/v2/users/{user_id}.json",
            "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
            "cnf": {"jku": f"{base_url}/api/v2/apps/{app_id}/public_key.pem"},
            "context": {"product": "support", "location": location},
        }
        return jwt.encode(claims, self._key(app_id), algorithm="RS256")
