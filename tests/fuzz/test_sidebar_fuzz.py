"""Fuzzing the sidebar through Flask's test client: its page (POST /sidebar) and its API (/api/...).

Who calls is what Zendesk vouches for. Zendesk POSTs the page a form field `token`: an RS256 JWT it
signs with the app's key, naming the account (iss), the app installation (aud) and the user (sub).
Agents and admins get the page with a session of ours in it (HS256 with a key derived from
OUTAGE_DESK_SECRET_KEY, ten minutes, renewable for twelve hours after sign-in), which /api/* takes as
`Authorization: Bearer …`; the caller's role is read from Zendesk, never from a token.

Zendesk is mocked at the HTTP boundary with `responses`: the account has two installations of our app
and one of another app (each app with its own key pair, its public key served), and the users
endpoint answers for any user id (a user's role is a fixed function of the id, so the role cache can
never disagree with it). The service knows our app's id (OUTAGE_DESK_APP_ID), as it must.

Sessions: the agents and admins of the last three tests, and the genuine session a forger tampers
with, sign in through POST /sidebar with a Zendesk token, once per example. The forged and random
sessions of the other tests are signed here with the derived key (or with a wrong one), since their
claims are the point.

Whether a token or a session must be accepted is computed here from its claims and the contract
(written below as constants and verdict functions), never by calling the verifier. Verdicts are
"granted", "refused" (with the status: 403 for a user who is not an agent or admin, 401 otherwise,
400 allowed where Zendesk's token names a user id out of range) or "unclear" where the contract does
not settle a near miss (padded or zero-padded ids, other scripts' digits, a user URL on another host
or without ".json", a null nbf); unclear cases are held to the invariants only. Each test records its
verdicts against the statuses it got: `pytest tests/fuzz --hypothesis-show-statistics` shows them.

Properties, whatever the path, method, body, token and session:
- never a 5xx; every answer is a JSON object (with an "error" when refused), but the page itself;
- /api/* with a forged or missing session (none, another scheme, garbage, three random segments, a
  wrong key, alg none, HS384/HS512 with the right key, a genuine agent session with its payload swapped
  for an admin's, a signature stripped, a non-object payload signed with the right key, Zendesk's own
  RS256 token, an empty bearer) is a 401 (or the router's 404/405), changes nothing and asks Zendesk
  nothing;
- a session signed with the right key but random claims (sub, ins, auth_time, exp, aud, iss: missing,
  non-numeric, digit-ish, huge, floats, NaN, booleans, strings, expired, another account or audience,
  a user whose role is end-user or unknown) is refused with exactly the contract's 401/403, and accepted
  when the contract says it is valid; either way a refusal changes nothing and only users are asked;
- POST /sidebar, whatever its body (no token, garbage, bytes, very long, the token in the query, JSON
  or a header), its method (others are 405) and Zendesk's token (random claims signed with the app's
  key: iss, aud, sub, iat, nbf, exp, extra claims; another app's or no app's key; HS256 keyed with the
  public PEM; alg none; RS512/PS256; a tampered, stripped or truncated signature): a 200 page with a session exactly when the token is valid and the user is an agent or admin,
  and that session names the user, the installation and now; otherwise a JSON error without a session
  (400/401/403; 405 for another method, 413 for a body over the size limit); the store never changes,
  Zendesk is asked only for our app's public key and users, and for users only once the token verified;
- POST /api/session with random sessions at random clock offsets renews exactly a valid session
  within twelve hours of its sign-in; the new session verifies with the derived key, keeps the user,
  the installation and the sign-in time, lives ten minutes from now and opens the API;
- agents' and admins' requests, any of them: never a 5xx, a refusal changes nothing, a 2xx writes
  incidents/tasks only, only admins resolve, declaring and the state lookup answer bad input with a
  400 as the contract says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import event, example, given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.store.secrets import SecretBox
from app.store.tables import IncidentRow
from app.web import create_app
from tests.conftest import SECRET_KEY
from tests.fuzz.support import (assert_not_5xx, changed_tables, digitish_text, fuzz_examples, header_text, id_verdict,
                                json_reply, json_scalars, json_values, record_app_errors, store_snapshot)
from tests.helpers import FrozenClock
from tests.zaf import open_sidebar, public_pem, rsa_key, session_of

BASE = "https://acme.zendesk.com"  # the config fixture's account
HOST = "acme.zendesk.com"
API = f"{BASE}/api/v2"
AGENT, ADMIN, CUSTOMER = 100003, 100002, 100050
OUR_APP, OTHER_APP = 9001, 9002
MAIN_INSTALLATION, SECOND_INSTALLATION, OTHER_APPS_INSTALLATION = 360000001, 360000002, 360000003
INSTALLATIONS = {MAIN_INSTALLATION: OUR_APP, SECOND_INSTALLATION: OUR_APP, OTHER_APPS_INSTALLATION: OTHER_APP}
APP_KEYS = {OUR_APP: rsa_key(), OTHER_APP: rsa_key()}  # each app's key pair, as Zendesk holds them
APP_PEMS = {app_id: public_pem(key) for app_id, key in APP_KEYS.items()}
STRANGER_KEY = rsa_key()  # no app's key
NOW = int(FrozenClock().now().timestamp())  # the clock fixture's frozen time, for module-level strategies
MISSING = object()  # a claim or field left out
ROUTER_REFUSALS = (404, 405)  # no route or method: the blueprint's guard never runs, nothing is written
MAX_BODY = 64 * 1024  # the config's OUTAGE_DESK_MAX_WEBHOOK_BYTES: a larger body is a 413

# The contract of Zendesk's token: RS256, 60 s leeway on every time, issued at most 600 s ago.
ZAF_LEEWAY, ZAF_MAX_AGE = 60, 600
# The contract of our session: HS256 with this key, ten minutes (5 s leeway), renewed for twelve hours.
SESSION_KEY = SecretBox(SECRET_KEY).subkey("sidebar-session")
SESSION_AUDIENCE = "outage-desk/sidebar"
SESSION_LIFETIME, SESSION_LEEWAY, MAX_SIGN_IN_AGE = 600, 5, 12 * 3600
SESSION_CLAIMS = ("iss", "aud", "sub", "ins", "auth_time", "exp")  # required, none may be null

USERS_URL = re.compile(re.escape(f"{API}/users/show_many.json") + r"(\?.*)?$")
PUBLIC_KEY_URL = re.compile(re.escape(f"{API}/apps/") + r"([0-9]+)/public_key\.pem(\?.*)?$")
JSON = {"Content-Type": "application/json"}


def role_for(user_id: int) -> str | None:
    """Zendesk's answer for a user: None is "no such user" (an empty `users` list)."""
    fixed = {AGENT: "agent", ADMIN: "admin", CUSTOMER: "end-user"}
    return fixed.get(user_id, (None, "agent", "admin", "end-user")[user_id % 4])


def _users_show_many(request):
    ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
    users = [{"id": int(i), "name": f"user {i}", "role": role_for(int(i))} for i in ids if role_for(int(i))]
    return 200, JSON, json.dumps({"users": users})


def _public_key(request):
    app_id = int(PUBLIC_KEY_URL.match(request.url)[1])
    if app_id not in APP_PEMS:
        return 404, JSON, json.dumps({"error": "RecordNotFound", "description": "Not found"})
    return 200, {"Content-Type": "application/x-pem-file"}, APP_PEMS[app_id]


@pytest.fixture
def zendesk():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, USERS_URL, callback=_users_show_many)
        mock.add_callback(responses.GET, PUBLIC_KEY_URL, callback=_public_key)
        yield mock


@pytest.fixture
def sidebar_app(config, sessions, clock, zendesk):
    assert (config.outage_desk_secret_key, config.zendesk_base_url) == (SECRET_KEY, BASE)
    return create_app(config, clock=clock)


@pytest.fixture
def sidebar(sidebar_app):
    return sidebar_app.test_client()


@pytest.fixture
def sidebar_errors(sidebar_app) -> list[BaseException]:
    return record_app_errors(sidebar_app)


# -- tokens, assembled by hand: PyJWT would refuse to encode many of the claims sent here ---------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assemble(header: dict, payload: bytes, sign) -> str:
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(payload)
    return signing_input + "." + b64url(sign(signing_input.encode()))


def payload_of(claims: Any) -> bytes:
    """JSON as a careless signer writes it: NaN and Infinity included."""
    return json.dumps(claims).encode()


HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def hmac_jwt(payload: bytes, key: bytes, alg: str = "HS256") -> str:
    return assemble({"alg": alg, "typ": "JWT"}, payload, lambda data: hmac.new(key, data, HMAC_HASHES[alg]).digest())


def rsa_jwt(payload: bytes, key, alg: str = "RS256") -> str:
    digest = hashes.SHA512() if alg == "RS512" else hashes.SHA256()
    pad = (padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if alg == "PS256"
           else padding.PKCS1v15())
    return assemble({"alg": alg, "typ": "JWT"}, payload, lambda data: key.sign(data, pad, digest))


def unsigned_jwt(payload: bytes, alg: str = "none") -> str:
    return assemble({"alg": alg, "typ": "JWT"}, payload, lambda data: b"")


def swap_payload(token: str, payload: bytes) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url(payload)}.{signature}"


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def without_missing(claims: dict) -> dict:
    return {key: value for key, value in claims.items() if value is not MISSING}


def session_claims(user: int = AGENT, installation: int = MAIN_INSTALLATION, now: int = NOW,
                   signed_in_at: int | None = None) -> dict:
    """The claims of a session as the contract describes it."""
    return {"iss": HOST, "aud": SESSION_AUDIENCE, "sub": str(user), "ins": installation,
            "auth_time": now if signed_in_at is None else signed_in_at, "iat": now, "exp": now + SESSION_LIFETIME}


def session_token(claims: Any) -> str:
    return hmac_jwt(payload_of(claims), SESSION_KEY)


def decode_session(token: str) -> dict:
    """A session as the contract reads it (times are checked by the caller: the clock here is frozen)."""
    return jwt.decode(token, SESSION_KEY, algorithms=["HS256"], audience=SESSION_AUDIENCE, issuer=HOST,
                      options={"require": list(SESSION_CLAIMS), "verify_exp": False, "verify_iat": False})


def audience_for(installation: int | str) -> str:
    return f"{API}/apps/installations/{installation}.json"


def zaf_claims(user: int = AGENT, installation: int = MAIN_INSTALLATION, now: int = NOW) -> dict:
    """The claims of Zendesk's token for `user` opening the sidebar of `installation`."""
    return {"iss": HOST, "aud": audience_for(installation), "sub": f"{API}/users/{user}.json", "iat": now,
            "nbf": now, "exp": now + 300, "context": {"product": "support", "location": "ticket_sidebar"}}


@dataclass(frozen=True)
class ZafToken:
    """A token POSTed to the page as if Zendesk signed it."""

    claims: Any  # the payload: a dict of claims (MISSING values left out), or any JSON for a malformed one
    signer: int | None = OUR_APP  # the app whose key signs it; None: a key no app has
    alg: str = "RS256"  # RS256, RS512 or PS256 with that key; HS256 keyed with its public PEM; none: unsigned
    mangle: str = ""  # "tampered" (payload swapped for an admin's after signing), "stripped", "truncated"

    def payload(self) -> bytes:
        return payload_of(without_missing(self.claims) if isinstance(self.claims, dict) else self.claims)

    def encode(self) -> str:
        key = STRANGER_KEY if self.signer is None else APP_KEYS[self.signer]
        if self.alg == "HS256":
            token = hmac_jwt(self.payload(), public_pem(key).encode())
        elif self.alg == "none":
            token = unsigned_jwt(self.payload())
        else:
            token = rsa_jwt(self.payload(), key, self.alg)
        if self.mangle == "tampered":  # the subject swapped for an admin, another one if it named one
            claims = without_missing(self.claims) if isinstance(self.claims, dict) else {}
            admin = ADMIN + 4 if claims.get("sub") == f"{API}/users/{ADMIN}.json" else ADMIN
            tampered = payload_of({**claims, "sub": f"{API}/users/{admin}.json"})
            assert tampered != self.payload()
            return swap_payload(token, tampered)
        if self.mangle == "stripped":
            return token.rsplit(".", 1)[0] + "."
        if self.mangle == "truncated":
            return token[:-3]
        return token


def zaf_token(user: int = AGENT, installation: int = MAIN_INSTALLATION) -> str:
    return ZafToken(zaf_claims(user, installation), signer=INSTALLATIONS[installation]).encode()


# -- verdicts, from the contract --------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "granted", "refused" or "unclear"
    reasons: tuple[str, ...] = ()
    status: int | None = None  # a refusal's status: 403 (role), 401, 405, 413; None: 400 or 401
    user: int | None = None
    installation: int | None = None


def refused(*reasons: str, status: int | None = None) -> Verdict:
    return Verdict("refused", reasons, status)


def judge(refusals: list[str], unclear: list[str], user: int | None, installation: int | None,
          refusal_status: int | None = 401) -> Verdict:
    """Any refusal refuses; else a near miss leaves it unclear; else the user's Zendesk role decides."""
    if refusals:
        return refused(*refusals, status=refusal_status)
    if unclear:
        return Verdict("unclear", tuple(unclear))
    role = role_for(user)
    if role not in ("agent", "admin"):
        return refused(f"role {role}", status=403)
    return Verdict("granted", user=user, installation=installation)


def is_numberish(text: str) -> bool:
    """Digits of any script, with spaces and signs: an id with something around it."""
    return any(ch.isdigit() or ch.isnumeric() for ch in text) and all(
        ch.isdigit() or ch.isnumeric() or ch.isspace() or ch in "+-" for ch in text)


def is_time(value) -> bool:
    """A NumericDate (RFC 7519): a JSON number, finite."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


# The sidebar's ids are bare ASCII digits: signs and spaces around them are left unclear.
API_ID = re.compile(r"[0-9]+")
LEADING_ZEROS = re.compile(r"0[0-9]+")


def session_id_verdict(value) -> str:
    """An id in a session, which we write as str(int) or int: zero-padded is a near miss."""
    if isinstance(value, str) and LEADING_ZEROS.fullmatch(value):
        return "unclear"
    return id_verdict(value, API_ID)


def session_verdict(claims: Any, now: float) -> Verdict:
    """What the API must do with a session signed with the right key carrying these claims, at `now`."""
    if not isinstance(claims, dict):
        return refused("not an object")
    refusals, unclear = [], []
    present = {name: claims.get(name, MISSING) for name in SESSION_CLAIMS}
    refusals += [f"no {name}" for name, value in present.items() if value is MISSING or value is None]
    if refusals:
        return refused(*refusals)
    if present["iss"] != HOST:
        refusals.append("another account")
    audience = present["aud"]
    # RFC 7519: `aud` is a string or an array of strings that must name us.
    if not (audience == SESSION_AUDIENCE or (type(audience) is list and SESSION_AUDIENCE in audience
                                              and all(type(item) is str for item in audience))):
        refusals.append("another audience")
    for name in ("exp", "auth_time"):
        if type(present[name]) is not int:  # we write whole seconds: anything else was not written by us
            refusals.append(f"{name} is not whole seconds")
    if type(present["exp"]) is int and present["exp"] + SESSION_LEEWAY < now:
        refusals.append("expired")
    # Nor longer than we issue them: a session living longer was not written by the service.
    if type(present["exp"]) is int and present["exp"] > now + SESSION_LIFETIME + SESSION_LEEWAY:
        refusals.append("lives too long")
    if "jti" in claims and type(claims["jti"]) is not str:
        refusals.append("jti is not a string")  # RFC 7519 §4.1.7
    sub, ins = present["sub"], present["ins"]
    verdicts = {"sub": session_id_verdict(sub) if type(sub) is str else "invalid",  # a user id *string*
                "ins": session_id_verdict(ins)}
    refusals += [f"{name} is no id" for name, verdict in verdicts.items() if verdict == "invalid"]
    unclear += [f"{name} is near an id" for name, verdict in verdicts.items() if verdict == "unclear"]
    if refusals or unclear:
        return judge(refusals, unclear, None, None)
    return judge([], [], int(sub), int(ins))


USER_URL = re.compile(re.escape(f"{API}/users/") + r"([0-9]+)\.json")
BARE_ID = re.compile(r"([0-9]+)")
AUDIENCE_PREFIX = f"{API}/apps/installations/"


def installation_of(audience) -> int | str | None:
    """The installation a token's `aud` names: an id, None (none of this account's), or "unclear"."""
    if type(audience) is not str or not audience.startswith(AUDIENCE_PREFIX) or not audience.endswith(".json"):
        return None
    digits = audience[len(AUDIENCE_PREFIX):-len(".json")]
    if re.fullmatch(r"0|[1-9][0-9]*", digits):
        return int(digits)
    # Leading zeros, other scripts' digits: not how Zendesk writes an id, yet the same number.
    return "unclear" if LEADING_ZEROS.fullmatch(digits) or (is_numberish(digits) and not digits.isascii()) else None


def zaf_user_of(sub) -> tuple[str, int | None]:
    """("valid", user id) for a user's API URL on this account or a bare id; "invalid" or "unclear" else."""
    if type(sub) is not str:
        return "invalid", None  # missing, null, or not a StringOrURI (RFC 7519)
    found = USER_URL.fullmatch(sub) or BARE_ID.fullmatch(sub)
    if found and LEADING_ZEROS.fullmatch(found[1]):
        return "unclear", None
    if found:
        user = int(found[1])
        return ("valid", user) if 0 < user < 2 ** 63 else ("invalid", None)
    if not any(ch.isdigit() or ch.isnumeric() for ch in sub):
        return "invalid", None
    # A user URL on another host or without ".json", an id with ".json", padding or other scripts' digits.
    if "users/" in sub or is_numberish(sub.removesuffix(".json")):
        return "unclear", None
    return "invalid", None


def zaf_verdict(token: ZafToken, now: float) -> Verdict:
    """What the page must do with this token at `now` (the service knows our app's id)."""
    refusals, unclear = [], []
    if token.alg != "RS256":
        refusals.append(f"signed {token.alg}")
    if token.mangle:
        refusals.append(f"signature {token.mangle}")
    if token.signer is None:
        refusals.append("signed by no app")
    claims = token.claims
    if not isinstance(claims, dict):
        return refused("not an object", *refusals)
    claims = without_missing(claims)
    installation = installation_of(claims.get("aud"))
    if installation is None:
        refusals.append("no installation of this account")
    elif installation == "unclear":
        unclear.append("an installation id near an id")
    # Only our app's key counts (OUTAGE_DESK_APP_ID): any app the account installs receives Zendesk's
    # tokens. Whatever installation a token our key verifies names, Zendesk signed it for ours.
    if token.signer is not None and token.signer != OUR_APP:
        refusals.append("not signed with our app's key")
    if claims.get("iss") != HOST:
        refusals.append("another issuer")
    refusals += zaf_time_refusals(claims, now, unclear)
    if "jti" in claims and type(claims["jti"]) is not str:
        refusals.append("jti is not a string")  # RFC 7519 §4.1.7
    verdict, user = zaf_user_of(claims.get("sub"))
    if verdict == "invalid":
        refusals.append("sub names no user")
    elif verdict == "unclear":
        unclear.append("sub near a user")
    # A subject naming an id out of range may be read as bad input (400) rather than a bad token (401).
    return judge(refusals, unclear, user, installation if isinstance(installation, int) else None,
                 refusal_status=None)


def zaf_time_refusals(claims: dict, now: float, unclear: list[str]) -> list[str]:
    refusals = [f"no {name}" for name in ("exp", "iat") if claims.get(name) is None]
    if "nbf" in claims and claims["nbf"] is None:
        unclear.append("nbf is null")
    times = {name: claims[name] for name in ("exp", "iat", "nbf") if claims.get(name) is not None}
    refusals += [f"{name} is not a time" for name, value in times.items() if not is_time(value)]
    if refusals:
        return refusals
    exp, iat = times["exp"], times["iat"]
    nbf = times.get("nbf", iat)
    if exp + ZAF_LEEWAY < now:
        refusals.append("expired")
    if iat > now + ZAF_LEEWAY or nbf > now + ZAF_LEEWAY:
        refusals.append("not valid yet")
    if iat < now - ZAF_MAX_AGE:
        refusals.append("issued too long ago")
    return refusals


# -- strategies: claims ------------------------------------------------------------------------------

OTHER_SCRIPT_ZEROS = [0x0660, 0x06F0, 0x0966, 0x09E6, 0xFF10]  # Arabic-Indic, Persian, Devanagari, Bengali, fullwidth


def in_script(number: int, zero: int) -> str:
    return "".join(chr(zero + int(digit)) for digit in str(number))


users = st.sampled_from([AGENT, ADMIN, CUSTOMER]) | st.integers(1, 10 ** 6)
installations = st.sampled_from(sorted(INSTALLATIONS))
huge_ints = st.sampled_from([2 ** 63, 10 ** 19, 10 ** 30, 10 ** 308, 10 ** 400, -(10 ** 400)])
odd_times = st.one_of(st.floats(), st.text(max_size=10), st.booleans(), st.none(), st.just(MISSING), huge_ints,
                      st.integers(), st.lists(st.integers(), max_size=2), digitish_text)
odd_issuers = st.one_of(
    st.sampled_from(["ACME.zendesk.com", "acme.zendesk.com.", " acme.zendesk.com", "https://acme.zendesk.com",
                     "evil.zendesk.com", "acme.zendesk.com/", "acme", ""]),
    st.text(max_size=20), st.integers(), st.booleans(), st.lists(st.just(HOST), max_size=2), st.none(),
    st.just(MISSING))
extra_claim_values = st.sampled_from(["admin", "agent", "end-user"]) | st.text(max_size=8) | st.integers() | st.none()
extra_claims = st.dictionaries(st.sampled_from(["role", "name", "email", "scope", "jti", "user_id", "admin"]),
                               extra_claim_values, max_size=2)


def perturbed(draw, claims: dict, odd: dict[str, st.SearchStrategy]) -> dict:
    """None, one or a few of the claims replaced by one of their odd values (or left out)."""
    count = draw(st.sampled_from([0, 0, 0, 1, 1, 1, 1, 2, 2, 3]))
    for name in draw(st.permutations(sorted(odd)))[:count]:
        claims[name] = draw(odd[name])
    return claims


odd_ids = st.one_of(
    st.integers(0, 10 ** 30).map(str), st.integers(2 ** 63 - 2, 2 ** 63 + 2).map(str), st.integers(),
    digitish_text, st.text(max_size=12),
    st.sampled_from(["", " 100003", "100003 ", "+100003", "0x10", "100003\n", "0100003", in_script(AGENT, 0x0660)]),
    st.floats(), st.booleans(), st.none(), st.just(MISSING))


@st.composite
def random_sessions(draw, now: int = NOW):
    """Session claims signed with the right key: valid ones for `now` with any of them perturbed."""
    age = draw(st.integers(0, 13 * 3600) | st.sampled_from([MAX_SIGN_IN_AGE - 1, MAX_SIGN_IN_AGE,
                                                            MAX_SIGN_IN_AGE + 1]))
    claims = session_claims(draw(users), draw(installations | st.integers(1, 2 ** 63 - 1)), now=now,
                            signed_in_at=now - age)
    claims["exp"] = now + draw(st.integers(-SESSION_LEEWAY - 2, SESSION_LIFETIME))
    exps = st.sampled_from([now - SESSION_LEEWAY, now - SESSION_LEEWAY - 1, now + 10 ** 9]) | odd_times | st.floats(
        now - 60, now + 600)
    audiences = st.one_of(
        st.sampled_from(["OUTAGE-DESK/SIDEBAR", "outage-desk/sidebar ", "outage-desk", "", audience_for(MAIN_INSTALLATION),
                         [SESSION_AUDIENCE], [SESSION_AUDIENCE, "another"], ["another"], [SESSION_AUDIENCE, 5], []]),
        st.text(max_size=20), st.integers(), st.none(), st.just(MISSING))
    claims = perturbed(draw, claims, {"sub": odd_ids | users, "ins": odd_ids, "auth_time": odd_times | st.integers(),
                                      "exp": exps, "aud": audiences, "iss": odd_issuers})
    claims.update(draw(extra_claims))
    return without_missing(claims)


@st.composite
def zaf_tokens(draw, now: int = NOW):
    """Zendesk-like tokens: valid claims for `now` with any of them perturbed, signed with the key of
    the installation's app, mostly, or another; RS256, mostly."""
    user, installation = draw(users), draw(installations)
    claims = zaf_claims(user, installation, now)
    claims["iat"] = claims["nbf"] = now - draw(st.integers(0, ZAF_MAX_AGE - 240))
    unknown = st.sampled_from([360000004, 1, 0, 2 ** 63 - 1, 2 ** 63, 10 ** 19 - 1, 10 ** 19])
    audiences = st.one_of(
        (installations | unknown).map(audience_for),
        installations.map(lambda i: audience_for(f"0{i}")),
        st.tuples(installations, st.sampled_from(OTHER_SCRIPT_ZEROS)).map(lambda t: audience_for(in_script(*t))),
        st.sampled_from([f"https://evil.zendesk.com/api/v2/apps/installations/{MAIN_INSTALLATION}.json",
                         f"http://acme.zendesk.com/api/v2/apps/installations/{MAIN_INSTALLATION}.json",
                         f"{API}/apps/installations/{MAIN_INSTALLATION}", f"{API}/apps/installations/{MAIN_INSTALLATION}/",
                         f"{API}/apps/installations/{MAIN_INSTALLATION}.json?x=1", f"{API}/apps/{OUR_APP}.json",
                         f"/api/v2/apps/installations/{MAIN_INSTALLATION}.json", str(MAIN_INSTALLATION), ""]),
        st.lists(installations.map(audience_for), min_size=1, max_size=2),
        st.text(max_size=20), st.integers(), st.none(), st.just(MISSING))
    near_users = st.sampled_from([AGENT, ADMIN]).flatmap(lambda u: st.sampled_from([
        f"https://evil.zendesk.com/api/v2/users/{u}.json", f"{API}/users/{u}", f"{u}.json", f" {u}", f"{u}\n",
        f"+{u}", f"users/{u}.json", f"{API}/organizations/{u}.json", f"{API}/users/{in_script(u, 0x0660)}.json",
        in_script(u, 0xFF10), f"{API}/users/0.json", "0", f"{API}/users/{2 ** 63}.json", str(10 ** 19),
        f"{API}/users/{u}.json/", f"{API}/users/{u}.jsonx", f"{API}/users/me.json"]))
    subs = st.one_of(users.map(str), users.map(lambda u: f"{API}/users/{u}.json"), users, near_users,
                     digitish_text, st.text(max_size=20), st.floats(), st.booleans(), st.none(), st.just(MISSING),
                     st.lists(users.map(str), max_size=1))
    iats = st.one_of(st.integers(now - ZAF_MAX_AGE - 5, now + ZAF_LEEWAY + 5),
                     st.sampled_from([now - ZAF_MAX_AGE, now - ZAF_MAX_AGE - 1, now + ZAF_LEEWAY,
                                      now + ZAF_LEEWAY + 1]),
                     st.floats(now - ZAF_MAX_AGE - 5, now + ZAF_LEEWAY + 5), odd_times)
    exps = st.one_of(st.integers(now - ZAF_LEEWAY - 5, now + 3600),
                     st.sampled_from([now - ZAF_LEEWAY, now - ZAF_LEEWAY - 1]),
                     st.floats(now - ZAF_LEEWAY - 5, now + 600), odd_times)
    claims = perturbed(draw, claims, {"iss": odd_issuers, "aud": audiences, "sub": subs, "iat": iats,
                                      "nbf": iats | st.just(MISSING), "exp": exps})
    claims.update(draw(extra_claims | st.fixed_dictionaries({"context": json_values})))
    signer, alg, mangle = INSTALLATIONS[installation], "RS256", ""
    forged = draw(st.sampled_from(["no"] * 9 + ["signer", "RS512", "PS256", "HS256", "none", "tampered", "stripped",
                                                "truncated"]))
    if forged == "signer":
        signer = draw(st.sampled_from([OUR_APP, OTHER_APP, None]))
    elif forged in ("tampered", "stripped", "truncated"):
        mangle = forged
    elif forged != "no":
        alg = forged
    return ZafToken(claims, signer, alg, mangle)


malformed_zaf_tokens = st.builds(ZafToken, claims=json_scalars | st.lists(json_values, max_size=3))  # no object


# -- strategies: page loads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLoad:
    """One request to the page, as Zendesk sends it (a POSTed form) or otherwise."""

    token: ZafToken | str | None = None  # Zendesk's token, any text in its place, or no token field
    place: str = "form"  # where the token goes: form, multipart, query, json or header
    method: str = "POST"
    fields: tuple[tuple[str, str], ...] = ()  # other form fields
    body: bytes | None = None  # a raw body instead of any token
    content_type: str | None = None
    query: tuple[tuple[str, str], ...] = (("origin", BASE), ("app_guid", "g-1"))

    def request(self) -> dict:
        kwargs: dict = {"method": self.method, "query_string": list(self.query)}
        if self.body is not None:
            kwargs["data"] = self.body
            if self.content_type is not None:
                kwargs["content_type"] = self.content_type
            return kwargs
        token = self.token.encode() if isinstance(self.token, ZafToken) else self.token
        form = dict(self.fields)
        if token is not None:
            if self.place in ("form", "multipart"):
                form["token"] = token
            elif self.place == "query":
                kwargs["query_string"] = [*self.query, ("token", token)]
            elif self.place == "json":
                kwargs["json"] = {"token": token, **form}
                return kwargs
            else:
                kwargs["headers"] = bearer(token)
        kwargs["data"] = form
        if self.place == "multipart":
            kwargs["content_type"] = "multipart/form-data"
        return kwargs

    def verdict(self, now: float) -> Verdict:
        if self.method != "POST":
            return refused("not POST", status=405)
        if self.body is not None:
            return refused("too large", status=413) if len(self.body) > MAX_BODY else refused("no token field")
        if self.token is None or self.place not in ("form", "multipart"):
            return refused("no token field", status=401)
        if not isinstance(self.token, ZafToken):
            return refused("not Zendesk's token")
        return zaf_verdict(self.token, now)


text_fields = st.lists(st.tuples(st.text(max_size=8).filter(lambda name: name != "token"), st.text(max_size=20)),
                       max_size=3).map(tuple)
garbage_tokens = st.one_of(
    header_text, st.text(max_size=60), st.sampled_from(["", "null", "undefined", "a.b.c", "..", "Bearer x"]),
    st.lists(st.binary(max_size=40).map(b64url), min_size=2, max_size=4).map(".".join),
    st.integers(1, 60_000).map(lambda n: "A" * n),
    st.builds(lambda payload: unsigned_jwt(payload, "RS256") + "c2ln", st.binary(max_size=60)),
    st.builds(session_token, st.just(session_claims(ADMIN))))  # our own session, sent as Zendesk's token


@st.composite
def page_loads(draw):
    """Any request to the page: forms with or without a token (valid or not), raw bodies, other places
    for a token, other methods."""
    kind = draw(st.sampled_from(["token"] * 5 + ["garbage"] * 3 + ["no-token", "bytes", "bytes", "misplaced",
                                                                     "misplaced", "too-large"]))
    method = draw(st.sampled_from(["POST"] * 16 + ["GET", "PUT", "PATCH", "DELETE"]))
    query = draw(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=2))
    base = {"method": method, "query": (("origin", BASE), ("app_guid", "g-1"), *query), "fields": draw(text_fields)}
    valid = st.builds(lambda user, installation: ZafToken(zaf_claims(user, installation),
                                                          signer=INSTALLATIONS[installation]), users, installations)
    if kind == "token":
        token = draw(valid | zaf_tokens())
        return PageLoad(token=token, place=draw(st.sampled_from(["form", "multipart"])), **base)
    if kind == "garbage":
        return PageLoad(token=draw(garbage_tokens), place=draw(st.sampled_from(["form", "multipart"])), **base)
    if kind == "no-token":
        return PageLoad(**base)
    if kind == "misplaced":
        return PageLoad(token=draw(valid), place=draw(st.sampled_from(["query", "json", "header"])), **base)
    if kind == "too-large":
        return PageLoad(body=b"token=" + b"A" * draw(st.integers(MAX_BODY, MAX_BODY + 4096)),
                        content_type="application/x-www-form-urlencoded", method="POST")
    return PageLoad(body=draw(st.binary(max_size=300)), method=method, content_type=draw(st.sampled_from(
        [None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "application/json",
         "text/plain", "garbage"])))


# -- strategies: forged sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Forgery:
    """An Authorization header no verifier may accept."""

    kind: str
    claims: dict = field(default_factory=dict)  # what the forger wants the session to say
    detail: Any = None  # the kind's own: the header, the key, the algorithm, the payload

    def headers(self, genuine: str) -> dict[str, str]:
        """The header; `genuine` is a real agent's session, signed in through the page."""
        payload = payload_of(self.claims)
        kind = self.kind
        if kind == "none":
            return {}
        if kind in ("not-bearer", "empty-bearer"):
            return {"Authorization": self.detail}
        if kind == "other-scheme":
            return {"Authorization": f"{self.detail}{genuine}"}
        if kind == "bearer-garbage":
            return bearer(self.detail)
        if kind == "three-segments":
            return bearer(".".join(self.detail))
        if kind == "wrong-key":
            return bearer(hmac_jwt(payload, self.detail))
        if kind == "alg-none":
            return bearer(unsigned_jwt(payload, self.detail))
        if kind == "other-hmac":
            return bearer(hmac_jwt(payload, SESSION_KEY, self.detail))
        if kind == "tampered":
            return bearer(swap_payload(genuine, payload))
        if kind == "stripped":
            return bearer(genuine.rsplit(".", 1)[0] + self.detail)
        if kind == "not-an-object":
            return bearer(hmac_jwt(self.detail, SESSION_KEY))
        assert kind == "zendesk-token"
        return bearer(ZafToken(zaf_claims(ADMIN, self.detail), signer=INSTALLATIONS[self.detail]).encode())


wrong_keys = st.one_of(
    st.binary(min_size=32, max_size=64).filter(lambda key: key != SESSION_KEY),
    st.sampled_from([SECRET_KEY.encode(), base64.urlsafe_b64decode(SECRET_KEY),
                     SecretBox(SECRET_KEY).subkey("sidebar"), SecretBox(SECRET_KEY).subkey("sidebar-session "),
                     b"zaf-shared-secret-for-the-sidebar-fuzzing", public_pem(APP_KEYS[OUR_APP]).encode()]))


@st.composite
def forgeries(draw):
    kind = draw(st.sampled_from(["none", "not-bearer", "other-scheme", "bearer-garbage", "three-segments",
                                 "wrong-key", "alg-none", "other-hmac", "tampered", "stripped", "not-an-object",
                                 "zendesk-token", "empty-bearer"]))
    user = ADMIN if kind == "tampered" else draw(st.sampled_from([AGENT, ADMIN]))
    claims = {**session_claims(user), "role": "admin", **draw(extra_claims)}
    detail = {
        "not-bearer": header_text.filter(lambda value: not value.startswith("Bearer ")),
        "other-scheme": st.sampled_from(["", "Token ", "Basic ", "JWT ", "Bearer:", "Bearer\t"]),
        "bearer-garbage": header_text,
        "three-segments": st.lists(st.binary(max_size=40).map(b64url), min_size=3, max_size=3),
        "wrong-key": wrong_keys,
        "alg-none": st.sampled_from(["none", "None", "NONE", "nOnE", ""]),
        "other-hmac": st.sampled_from(["HS384", "HS512"]),
        "stripped": st.sampled_from(["", ".", ".AAAA", ".e30"]),
        "not-an-object": json_values.filter(lambda value: not isinstance(value, dict)).map(payload_of)
                         | st.binary(max_size=40),
        "zendesk-token": installations,
        "empty-bearer": st.sampled_from(["Bearer", "Bearer ", "Bearer  ", "Bearer null", "Bearer undefined",
                                         "Bearer ..", "Bearer\u00a0"]),
    }.get(kind, st.none())
    return Forgery(kind, claims, draw(detail))


# -- strategies: API requests ---------------------------------------------------------------------------

path_ints = st.one_of(st.integers(0, 4), st.integers(-3, 10 ** 6), st.integers(2 ** 63 - 2, 2 ** 70)).map(str)
path_segments = path_ints | st.text(max_size=12).map(lambda text: quote(text, safe=""))
ticket_id_params = st.one_of(path_ints, digitish_text, st.text(max_size=10), st.just(MISSING))
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
QUERIES = {"API": True, "subject:API": True, "status<solved": True, "tags:api_down": True, "API -tags:noise": True,
           '"unbalanced': False, "foo:bar": False, "status:nonsense": False, "created>not-a-date": False}


@st.composite
def api_requests(draw):
    """(method, path, client.open keyword arguments) within and around the blueprint's routes."""
    route = draw(st.sampled_from(["state", "incidents", "attach", "detach", "notify", "resolve", "session",
                                  "random"]))
    seg = draw(path_segments)
    path = {"state": "/api/state", "incidents": "/api/incidents", "attach": f"/api/incidents/{seg}/tickets",
            "detach": f"/api/incidents/{seg}/tickets/{draw(path_segments)}",
            "notify": f"/api/incidents/{seg}/notify-mine", "resolve": f"/api/incidents/{seg}/resolve",
            "session": "/api/session", "random": "/api/" + "/".join(draw(st.lists(path_segments, max_size=4)))}[route]
    default_method = {"state": "GET", "detach": "DELETE"}.get(route, "POST")
    method = draw(st.sampled_from([default_method] * 6 + METHODS))
    kwargs: dict = {}
    ticket_id = draw(ticket_id_params)
    if ticket_id is not MISSING:
        kwargs["query_string"] = {"ticket_id": ticket_id}
    body_kind = draw(st.sampled_from(["none", "declare", "ticket", "json", "bytes", "form"]))
    if body_kind == "declare":
        kwargs.update(data=json.dumps(draw(declare_bodies())[0]), content_type="application/json")
    elif body_kind == "ticket":
        value = draw(ticket_id_params | st.integers() | json_values)
        kwargs.update(data=json.dumps({} if value is MISSING else {"ticket_id": value}),
                      content_type="application/json")
    elif body_kind == "json":
        kwargs.update(data=json.dumps(draw(json_values)), content_type="application/json")
    elif body_kind == "bytes":
        kwargs.update(data=draw(st.binary(max_size=200)), content_type=draw(st.sampled_from(
            ["application/json", "text/plain", "application/octet-stream"])))
    elif body_kind == "form":
        kwargs.update(data=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)))
    return method, path, kwargs


def api_ticket_verdict(value) -> str:
    return id_verdict(value, API_ID)


@st.composite
def declare_bodies(draw):
    """A declare body, each field valid or odd: (body, verdict) with verdict "valid", "invalid" or "unclear"."""
    verdicts = []
    body = {}
    ticket_id = draw(st.integers(1, 2 ** 63 - 1) | ticket_id_params | st.integers() | json_values)
    if ticket_id is not MISSING:
        body["ticket_id"] = ticket_id
    # Without a ticket (absent or null) only an admin declares: the nav bar's declare; the test checks the role.
    verdicts.append("valid" if ticket_id is MISSING or ticket_id is None else api_ticket_verdict(ticket_id))
    title = draw(st.text(min_size=1, max_size=250).filter(str.strip) | st.sampled_from(["", "   ", MISSING])
                 | json_values)
    if title is not MISSING:
        body["title"] = title
    verdicts.append("valid" if isinstance(title, str) and title[:200].strip() else
                    "invalid" if title in (MISSING, None, "") or (isinstance(title, str) and not title.strip())
                    else "unclear")
    query = draw(st.sampled_from(sorted(QUERIES)) | st.text(max_size=30) | json_values)
    body["query"] = query
    known = isinstance(query, str) and query in QUERIES
    verdicts.append(("valid" if QUERIES[query] else "invalid") if known else "unclear")
    severity = draw(st.integers(1, 4) | st.integers() | json_values | st.just(MISSING))
    if severity is not MISSING:
        body["severity"] = severity
    verdicts.append("valid" if severity is MISSING or (type(severity) is int and 1 <= severity <= 4) else "invalid")
    body.update(draw(st.dictionaries(st.sampled_from(["tag", "kind", "state", "id"]), json_values, max_size=2)))
    verdict = "invalid" if "invalid" in verdicts else "unclear" if "unclear" in verdicts else "valid"
    return body, verdict


# Calls that write when the caller is allowed to: a refusal that still writes cannot hide among failures.
WELL_FORMED = [
    ("GET", "/api/state", {"query_string": {"ticket_id": "42"}}),
    ("POST", "/api/incidents", {"json": {"ticket_id": 42, "title": "API down", "query": "API", "severity": 1}}),
    ("POST", "/api/incidents/{declared}/tickets", {"json": {"ticket_id": 42}}),
    ("DELETE", "/api/incidents/{declared}/tickets/43", {}),
    ("POST", "/api/incidents/{declared}/resolve", {}),
    ("POST", "/api/incidents/{resolved}/notify-mine", {}),
    ("POST", "/api/session", {}),
    ("POST", "/api/incidents/{declared}/updates", {"json": {"texts": {"en": "Still working on it."}}}),
]
well_formed_requests = st.sampled_from(WELL_FORMED)
RESOLVE_PATH = re.compile(r"/api/incidents/[0-9]+/(resolve|updates)")


# -- the service, signed in -----------------------------------------------------------------------------


def sign_in(client, user: int, installation: int = MAIN_INSTALLATION) -> str:
    """The user opens a ticket: Zendesk POSTs its token to the page, which carries our session."""
    page = open_sidebar(client, zaf_token(user, installation))
    assert page.status_code == 200, (page.status_code, page.data[:300])
    return session_of(page)


def ensure_declared_incident(client, clock, sessions) -> None:
    """Give the id-bearing routes something to find: a declared incident (the active one, or a new one)."""
    assert clock.now().timestamp() == NOW, "the strategies assume the clock fixture's frozen time"
    if "declared" in incident_ids(sessions):
        return
    finish_resolving(sessions)
    response = client.post("/api/incidents", headers=bearer(sign_in(client, AGENT)),
                           json={"ticket_id": 1, "title": "API down", "query": "API"})
    assert response.status_code == 202, (response.status_code, response.data[:300])


def incident_ids(sessions) -> dict[str, int]:
    """The newest incident id per state."""
    with sessions() as session:
        rows = session.execute(select(IncidentRow.state, func.max(IncidentRow.id)).group_by(IncidentRow.state))
        return {state: incident_id for state, incident_id in rows}


def fill_ids(path: str, sessions) -> str:
    """Put the newest declared/resolved incident ids into a WELL_FORMED path."""
    if "{" not in path:
        return path
    ids = incident_ids(sessions)
    declared = ids.get("declared", 1)
    return path.format(declared=declared, resolved=ids.get("resolved", declared))


def resolve_active_incidents(client, clock, sessions) -> None:
    with sessions() as session:
        active = list(session.scalars(select(IncidentRow.id).where(IncidentRow.state == "declared")))
    if active:
        admin = sign_in(client, ADMIN)
    for incident_id in active:
        response = client.post(f"/api/incidents/{incident_id}/resolve", headers=bearer(admin))
        assert response.status_code == 202, (response.status_code, response.data[:300])
    finish_resolving(sessions)


def finish_resolving(sessions) -> None:
    """A resolving incident holds its tag until the worker has sent its replies; there is no worker
    here, and no ticket to notify: it is over."""
    with sessions() as session:
        session.execute(update(IncidentRow).where(IncidentRow.state == "resolving").values(state="resolved"))
        session.commit()


# -- checks ---------------------------------------------------------------------------------------------


def check_call(response, app_errors, method: str, before: dict, after: dict) -> dict:
    """The invariants of every API call: no 5xx, JSON, a refusal writes nothing, a 2xx only incidents, tasks,
    interim updates (which the worker sends) and the record of an incident's state change."""
    assert_not_5xx(response, app_errors)
    changed = changed_tables(before, after)
    if method == "HEAD" or (method == "OPTIONS" and response.status_code == 200):
        assert changed == [], changed
        return {}
    reply = json_reply(response)
    if response.status_code >= 400:
        assert "error" in reply, reply
        assert changed == [], f"refused with {response.status_code} {reply} but changed {changed}"
    else:
        assert set(changed) <= {"incidents", "tasks", "updates", "state_changes"}, changed
    return reply


def zendesk_urls(zendesk, since: int) -> list[str]:
    return [call.request.url for call in list(zendesk.calls)[since:]]


def only_asked(urls: list[str], *allowed: re.Pattern) -> None:
    assert all(any(pattern.match(url) for pattern in allowed) for url in urls), urls


def check_refusal(response, verdict: Verdict, reply: dict) -> None:
    if verdict.status is not None:
        assert response.status_code == verdict.status, (verdict, response.status_code, reply)
    else:
        assert response.status_code in (400, 401), (verdict, response.status_code, reply)


def check_session(token: str, user: int, installation: int, signed_in_at: int, now: int) -> None:
    """A session of ours for this user and installation, signed in at `signed_in_at`, issued at `now`."""
    claims = decode_session(token)
    assert (claims["sub"], claims["ins"], claims["auth_time"]) == (str(user), installation, signed_in_at), claims
    assert (claims["iat"], claims["exp"]) == (now, now + SESSION_LIFETIME), claims


def check_page(response, app_errors, verdict: Verdict, before: dict, after: dict, urls: list[str]) -> None:
    """The invariants of the page, and its verdict."""
    assert_not_5xx(response, app_errors)
    event(f"{verdict.outcome} -> {response.status_code}")
    assert changed_tables(before, after) == [], "the page wrote to the store"
    only_asked(urls, PUBLIC_KEY_URL, USERS_URL)
    if response.status_code == 200:
        assert verdict.outcome in ("granted", "unclear"), (verdict, "was granted a session")
        assert response.mimetype == "text/html" and response.headers["Cache-Control"] == "no-store"
        if verdict.outcome == "granted":
            check_session(session_of(response), verdict.user, verdict.installation, NOW, NOW)
        else:
            decode_session(session_of(response))
        return
    reply = json_reply(response)
    assert "error" in reply and b"outage-desk-session" not in response.data and b"eyJ" not in response.data, reply
    assert verdict.outcome != "granted", (verdict, response.status_code, reply)
    if verdict.outcome == "refused":
        check_refusal(response, verdict, reply)
        if verdict.status != 403:
            assert not any(USERS_URL.match(url) for url in urls), ("asked for a user before the token verified", urls)
    else:
        assert response.status_code in (400, 401, 403), (verdict, response.status_code, reply)


# -- the tests ------------------------------------------------------------------------------------------


@fuzz_examples(120)
@example(forgery=Forgery("tampered", session_claims(ADMIN)), call=WELL_FORMED[4])
@example(forgery=Forgery("zendesk-token", detail=MAIN_INSTALLATION), call=WELL_FORMED[6])
@given(forgery=forgeries(), call=well_formed_requests | api_requests())
def test_forged_or_missing_sessions_are_401_and_change_nothing(sidebar, sidebar_errors, sessions, clock, zendesk,
                                                               forgery, call):
    ensure_declared_incident(sidebar, clock, sessions)
    headers = forgery.headers(genuine=sign_in(sidebar, AGENT))
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.open(path, method=method, headers=headers, **kwargs)

    reply = check_call(response, sidebar_errors, method, before, store_snapshot(sessions))
    assert response.status_code in (401, *ROUTER_REFUSALS), (forgery.kind, response.status_code, reply)
    event(f"{forgery.kind} -> {response.status_code}")
    assert zendesk_urls(zendesk, asked) == [], "a forged session made Zendesk calls"


@fuzz_examples(150)
@example(claims=session_claims(AGENT) | {"exp": math.nan}, call=WELL_FORMED[2])
@example(claims=session_claims(AGENT) | {"exp": 10 ** 400}, call=WELL_FORMED[2])
@example(claims=session_claims(AGENT) | {"auth_time": 10 ** 400}, call=WELL_FORMED[1])
@example(claims=session_claims(AGENT) | {"sub": "\u00b2"}, call=WELL_FORMED[0])
@example(claims=session_claims(AGENT) | {"sub": str(2 ** 63 + 1)}, call=WELL_FORMED[2])
@example(claims=session_claims(AGENT) | {"sub": AGENT}, call=WELL_FORMED[0])
@example(claims=session_claims(CUSTOMER), call=WELL_FORMED[1])
@given(claims=random_sessions(), call=well_formed_requests)
def test_right_key_random_claims(sidebar, sidebar_errors, sessions, clock, zendesk, claims, call):
    ensure_declared_incident(sidebar, clock, sessions)
    verdict = session_verdict(claims, NOW)
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.open(path, method=method, headers=bearer(session_token(claims)), **kwargs)

    after = store_snapshot(sessions)
    reply = check_call(response, sidebar_errors, method, before, after)
    only_asked(zendesk_urls(zendesk, asked), USERS_URL)
    event(f"{verdict.outcome} -> {response.status_code}")
    if verdict.outcome == "refused":
        check_refusal(response, verdict, reply)
        assert changed_tables(before, after) == []
    elif verdict.outcome == "granted" and path == "/api/session" and NOW - claims["auth_time"] > MAX_SIGN_IN_AGE:
        assert response.status_code == 401 and "reload the ticket" in reply["error"], ("renewed", claims, reply)
    elif verdict.outcome == "granted":
        resolving = RESOLVE_PATH.fullmatch(path) and role_for(verdict.user) != "admin"
        assert response.status_code not in (401, 403) or (resolving and response.status_code == 403), (
            "a valid session was refused", claims, response.status_code, reply)
        if path == "/api/state":
            assert reply["user"] == {"id": verdict.user, "role": role_for(verdict.user)}, reply


@fuzz_examples(150)
@example(load=PageLoad(ZafToken(zaf_claims(AGENT) | {"exp": 10 ** 400})))
@example(load=PageLoad(ZafToken(zaf_claims(AGENT) | {"iat": 10 ** 400})))
@example(load=PageLoad(ZafToken(zaf_claims(AGENT) | {"sub": f"{API}/users/{in_script(AGENT, 0x0660)}.json"})))
@example(load=PageLoad(ZafToken(zaf_claims(AGENT), mangle="tampered")))
@example(load=PageLoad(ZafToken(zaf_claims(ADMIN), alg="HS256")))
@example(load=PageLoad(ZafToken(zaf_claims(AGENT)), place="query"))
@given(load=page_loads())
def test_the_page_any_request(sidebar, sidebar_errors, sessions, clock, zendesk, load):
    assert clock.now().timestamp() == NOW
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.open("/sidebar", **load.request())

    check_page(response, sidebar_errors, load.verdict(NOW), before, store_snapshot(sessions),
               zendesk_urls(zendesk, asked))


@fuzz_examples(200)
@example(token=ZafToken(zaf_claims(AGENT, OTHER_APPS_INSTALLATION), signer=OTHER_APP))
@example(token=ZafToken(zaf_claims(AGENT, SECOND_INSTALLATION)))
@example(token=ZafToken(zaf_claims(ADMIN, OTHER_APPS_INSTALLATION), signer=OUR_APP))
@example(token=ZafToken(zaf_claims(ADMIN) | {"nbf": None}))
@example(token=ZafToken(zaf_claims(ADMIN) | {"aud": audience_for(in_script(MAIN_INSTALLATION, 0xFF10))}))
@given(token=zaf_tokens() | malformed_zaf_tokens)
def test_the_page_zendesk_token_claims(sidebar, sidebar_errors, sessions, clock, zendesk, token):
    assert clock.now().timestamp() == NOW
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.post("/sidebar", query_string={"origin": BASE, "app_guid": "g-1"},
                            data={"token": token.encode()})

    check_page(response, sidebar_errors, zaf_verdict(token, NOW), before, store_snapshot(sessions),
               zendesk_urls(zendesk, asked))


clock_offsets = st.one_of(st.integers(-3600, 13 * 3600), st.sampled_from([0, SESSION_LIFETIME, MAX_SIGN_IN_AGE]),
                          st.integers(-10 ** 6, 10 ** 7))


@st.composite
def renewals(draw):
    """(clock offset, session claims) with claims made for the moment the renewal is asked."""
    offset = draw(clock_offsets)
    return offset, draw(random_sessions(NOW + offset))


@fuzz_examples(120)
@example(renewal=(MAX_SIGN_IN_AGE, session_claims(ADMIN, now=NOW + MAX_SIGN_IN_AGE, signed_in_at=NOW)))
@example(renewal=(MAX_SIGN_IN_AGE + 1, session_claims(ADMIN, now=NOW + MAX_SIGN_IN_AGE + 1, signed_in_at=NOW)))
@example(renewal=(0, session_claims(AGENT) | {"auth_time": 10 ** 400}))
@given(renewal=renewals())
def test_renewing_a_session(sidebar, sidebar_errors, sessions, clock, zendesk, renewal):
    offset, claims = renewal
    now = NOW + offset
    verdict = session_verdict(claims, now)
    before, asked = store_snapshot(sessions), len(zendesk.calls)
    clock.advance(offset)
    try:
        response = sidebar.post("/api/session", headers=bearer(session_token(claims)))
        reply = check_call(response, sidebar_errors, "POST", before, store_snapshot(sessions))
        only_asked(zendesk_urls(zendesk, asked), USERS_URL)
        assert changed_tables(before, store_snapshot(sessions)) == []
        event(f"{verdict.outcome} -> {response.status_code}")
        if verdict.outcome == "refused":
            check_refusal(response, verdict, reply)
        elif verdict.outcome == "granted" and now - claims["auth_time"] > MAX_SIGN_IN_AGE:
            assert response.status_code == 401 and "reload the ticket" in reply["error"], (claims, reply)
        elif verdict.outcome == "granted":
            assert response.status_code == 200 and reply["expires_in"] == SESSION_LIFETIME, (claims, reply)
            check_session(reply["token"], verdict.user, verdict.installation, claims["auth_time"], now)
            state = sidebar.get("/api/state", headers=bearer(reply["token"]), query_string={"ticket_id": "42"})
            assert state.status_code == 200 and state.get_json()["user"]["id"] == verdict.user, state.data[:300]
        if response.status_code == 200:  # granted, or unclear: whatever was renewed keeps who and when
            renewed = decode_session(reply["token"])
            assert (renewed["auth_time"], renewed["exp"]) == (claims["auth_time"], now + SESSION_LIFETIME), renewed
            assert renewed["sub"].isdigit() and str(renewed["ins"]).isdigit(), renewed
            assert now - claims["auth_time"] <= MAX_SIGN_IN_AGE, ("renewed past twelve hours", claims)
    finally:
        clock.advance(-offset)  # the fixture's clock is shared by every example of this test


# Agents and admins: the fixed ones, or any id whose role_for() is agent (1 mod 4) or admin (2 mod 4).
callers = st.sampled_from([AGENT, ADMIN]) | st.builds(lambda n, role: 4 * n + role, st.integers(0, 2 ** 61 - 1),
                                                      st.sampled_from([1, 2])).filter(lambda i: i != CUSTOMER)


@fuzz_examples(120)
@example(caller=ADMIN, call=("POST", f"/api/incidents/{2 ** 63}/resolve", {}))
@example(caller=AGENT, call=("DELETE", f"/api/incidents/{{declared}}/tickets/{2 ** 63}", {}))
@given(caller=callers, call=well_formed_requests | api_requests())
def test_agents_and_admins_any_request(sidebar, sidebar_errors, sessions, clock, zendesk, caller, call):
    ensure_declared_incident(sidebar, clock, sessions)
    session = sign_in(sidebar, caller)
    method, path, kwargs = call
    path = fill_ids(path, sessions)
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.open(path, method=method, headers=bearer(session), **kwargs)

    reply = check_call(response, sidebar_errors, method, before, store_snapshot(sessions))
    if method == "POST" and RESOLVE_PATH.fullmatch(path) and role_for(caller) != "admin":
        # 403, or 404/409 should the incident's existence or state be checked first: never a 2xx.
        assert 400 <= response.status_code < 500, ("only admins resolve and post updates", response.status_code,
                                                    reply)
    assert response.status_code != 401, ("a signed-in caller was refused", reply)
    only_asked(zendesk_urls(zendesk, asked), USERS_URL)


@fuzz_examples(100)
@example(declare=({"ticket_id": 1, "title": "API down", "query": '"unbalanced'}, "invalid"), active=False,
         caller=AGENT)
@given(declare=declare_bodies(), active=st.booleans(), caller=st.sampled_from([AGENT, ADMIN]))
def test_declaring_from_the_sidebar(sidebar, sidebar_errors, sessions, clock, zendesk, declare, active, caller):
    body, verdict = declare
    if active:
        ensure_declared_incident(sidebar, clock, sessions)
    else:
        resolve_active_incidents(sidebar, clock, sessions)
    session = sign_in(sidebar, caller)
    before, asked = store_snapshot(sessions), len(zendesk.calls)

    response = sidebar.post("/api/incidents", headers=bearer(session), json=body)

    after = store_snapshot(sessions)
    reply = check_call(response, sidebar_errors, "POST", before, after)
    if body.get("ticket_id") is None and caller == AGENT:
        assert response.status_code == 403, (response.status_code, reply)
    elif verdict == "invalid":
        assert response.status_code == 400, (response.status_code, reply)
    elif verdict == "valid" and active:
        assert response.status_code == 409, (response.status_code, reply)
    elif verdict == "valid":
        assert response.status_code == 202, (response.status_code, reply)
        assert (reply["incident"]["title"], reply["incident"]["state"]) == (body["title"][:200], "declared")
        added = [row for row in after["incidents"] if row not in before["incidents"]]
        # The incident, and the record that the caller declared it.
        assert len(added) == 1 and changed_tables(before, after) == ["incidents", "state_changes"], added
        assert after["state_changes"][-1][1:5] == (added[0][0], None, "declared", str(caller)), after["state_changes"]
    only_asked(zendesk_urls(zendesk, asked), USERS_URL)


@fuzz_examples(100)
@example(ticket_id="\u00b2", caller=AGENT)
@given(ticket_id=ticket_id_params, caller=st.sampled_from([AGENT, ADMIN]))
def test_state_lookup(sidebar, sidebar_errors, sessions, clock, zendesk, ticket_id, caller):
    assert clock.now().timestamp() == NOW
    session = sign_in(sidebar, caller)
    before = store_snapshot(sessions)
    query = {} if ticket_id is MISSING else {"ticket_id": ticket_id}

    response = sidebar.get("/api/state", headers=bearer(session), query_string=query)

    reply = check_call(response, sidebar_errors, "GET", before, store_snapshot(sessions))
    verdict = "invalid" if ticket_id is MISSING else api_ticket_verdict(ticket_id)
    if verdict == "invalid":
        assert response.status_code == 400, (response.status_code, reply)
    elif verdict == "valid":
        assert response.status_code == 200 and reply["ticket"]["id"] == int(ticket_id), reply
        assert reply["user"] == {"id": caller, "role": role_for(caller)}
