"""Zendesk's side of a signedUrls app, for tests: an app key pair, and the sidebar page loaded with its token."""

from __future__ import annotations

import re

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SESSION_META = re.compile(rb'<meta name="outage-desk-session" content="([^"]+)"')


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class ZendeskApp:
    """One installed app of an account at `base_url`, signing as Zendesk signs (RS256, the app's key)."""

    def __init__(self, base_url: str, app_id: int = 9001, installation_id: int = 360000001):
        self.base_url = base_url
        self.app_id = app_id
        self.installation_id = installation_id
        self.key = rsa_key()

    def mock(self, mock) -> None:
        """Answer the app's public key, what the service reads to check the token (a `responses` mock)."""
        mock.get(f"{self.base_url}/api/v2/apps/{self.app_id}/public_key.pem", body=public_pem(self.key),
                 content_type="application/x-pem-file")

    def claims(self, user_id: int, now: float, **overrides) -> dict:
        host = self.base_url.split("://", 1)[1]
        claims = {"iss": host, "aud": f"{self.base_url}/api/v2/apps/installations/{self.installation_id}.json",
                  "sub": f"{self.base_url}/api/v2/users/{user_id}.json", "iat": int(now), "nbf": int(now),
                  "exp": int(now) + 300, "context": {"product": "support", "location": "ticket_sidebar"}}
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def token(self, user_id: int, now: float, key: rsa.RSAPrivateKey | None = None, **overrides) -> str:
        """The token Zendesk POSTs to the sidebar page when `user_id` opens it; overrides change claims."""
        return jwt.encode(self.claims(user_id, now, **overrides), key or self.key, algorithm="RS256")


def open_sidebar(client, token: str | None):
    """POST the page as Zendesk does (form field `token`); returns the response."""
    return client.post("/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g-1",
                       data={} if token is None else {"token": token})


def session_of(response) -> str:
    """The session the sidebar page carries."""
    found = SESSION_META.search(response.data)
    assert found, (response.status_code, response.data[:300])
    return found[1].decode()
