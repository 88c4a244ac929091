"""Our HTTP session to Zendesk: pointed at the configured base URL, bounded, errors as our types."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy

from app.config import Config
from app.errors import (
    Stopped, ZendeskAuthError, ZendeskHttpError, ZendeskRateLimited, ZendeskServerError, ZendeskTimeout,
)
from app.zendesk.deadline import CallWatcher, WatchedAdapter
from app.zendesk.redaction import redact

# Zendesk's error code ("RecordInvalid", "invalid_token"): named in a message only when it has this shape.
ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z_]{1,39}")
DEFAULT_DEADLINE = 60.0  # seconds for one exchange, from connecting to the last byte (ZENDESK_TIMEOUT_SECONDS)
# Shorter than the deadline: a dead host or a silent server is given up on well before it.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


@dataclass
class RateLimitState:
    """What Zendesk's rate-limit headers last said, and how many calls we made."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, response: requests.Response) -> None:
        headers = response.headers
        with self._lock:
            self.calls += 1
            limit = headers.get("X-Rate-Limit") or headers.get("ratelimit-limit")
            remaining = headers.get("X-Rate-Limit-Remaining") or headers.get("ratelimit-remaining")
            reset = headers.get("ratelimit-reset")
            # A proxy's headers may be anything: pacing does without what it cannot read.
            if limit and remaining and limit.isdigit() and remaining.isdigit():
                self.limit, self.remaining = int(limit), int(remaining)
            if reset and reset.replace(".", "", 1).isdigit():
                self.reset_seconds = float(reset)


class ZendeskSession(requests.Session):
    """A requests session to Zendesk at `base_url` that bounds each call and raises our errors.

    `base_url` is the account's (or a sandbox's or proxy's): app/zendesk/transport.py builds
    its URLs from it, per client instead of through zenpy's process-wide env vars. Each
    exchange, from connecting to the answer's last byte, must end within `deadline` seconds
    (a slow drip of bytes would defeat a per-read timeout); once `stop` is set, calls in
    flight are cut short and no new one starts. Error statuses become our exception types here.
    """

    def __init__(self, base_url: str, rate_limit: RateLimitState, deadline: float = DEFAULT_DEADLINE,
                 stop: threading.Event | None = None):
        super().__init__()
        self._base_url = base_url.rstrip("/")
        self.rate_limit = rate_limit
        self.deadline = deadline
        self._stop = stop
        self._watcher = CallWatcher(stop)
        # Both schemes: a sandbox or proxy may be plain http (zenpy would mount https only).
        for scheme in ("http://", "https://"):
            self.mount(scheme, WatchedAdapter())

    @property
    def base_url(self) -> str:
        """Where calls go: Zendesk's `https://{subdomain}.zendesk.com`, a sandbox or a proxy."""
        return self._base_url

    def request(self, method, url, *args, **kwargs):
        what = f"{method.upper()} {urlsplit(url).path}"
        if self._stop is not None and self._stop.is_set():
            raise Stopped(f"stopping: {what} not sent")
        read_timeout = min(READ_TIMEOUT, self.deadline)
        kwargs["timeout"] = (min(CONNECT_TIMEOUT, self.deadline), read_timeout)
        with self._watcher.watching(self.deadline) as call:
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.ReadTimeout:
                self._raise_if_cut(call.cut, what)
                # Silence is a slow answer too: the same policy as a deadline, not a network retry.
                raise ZendeskTimeout(f"Zendesk sent nothing for {read_timeout:g} s while answering {what}",
                                     endpoint=what) from None
            except requests.RequestException:
                self._raise_if_cut(call.cut, what)
                raise
        # Cut mid-headers, http.client may still make a (hollow) answer of what it had.
        self._raise_if_cut(call.cut, what)
        self._check(response, what)
        return response

    def _raise_if_cut(self, cut: str | None, what: str) -> None:
        if cut == "stop":
            raise Stopped(f"stopping: {what} abandoned") from None
        if cut == "deadline":
            raise ZendeskTimeout(f"Zendesk took longer than {self.deadline:g} s to answer {what}",
                                 endpoint=what) from None

    def _check(self, response: requests.Response, what: str) -> None:
        self.rate_limit.record(response)
        status = response.status_code
        if status < 400:
            return
        # Named by its status and code, never quoted: a proxy's error page may echo our credentials.
        code = _error_code(response)
        message = f"Zendesk answered {status}{f' ({self.redact(code)})' if code else ''} to {what}"
        if status in (401, 403):
            raise ZendeskAuthError(message, response, what)
        if status == 429:
            raise ZendeskRateLimited(message, response, _retry_after(response), what)
        if status >= 500:
            raise ZendeskServerError(message, response, what)
        raise ZendeskHttpError(message, response, what)

    def redact(self, text: str) -> str:
        """`text` from Zendesk without our credentials or anything shaped like one, for a message or a log."""
        return redact(text, self._secrets())

    def _secrets(self) -> list[str]:
        found: list[str] = []
        if isinstance(self.auth, tuple):
            login, password = self.auth
            found += [password, base64.b64encode(f"{login}:{password}".encode()).decode()]
        authorization = self.headers.get("Authorization", "")
        if authorization:
            found.append(authorization.split(" ", 1)[-1])
        return found


def _error_code(response: requests.Response) -> str | None:
    """Zendesk's error code from an error answer (`{"error": "RecordInvalid", …}`, or the first of
    `{"errors": [{"code": …}]}`), if it is a short identifier; None for anything else."""
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    code = data.get("error")
    if isinstance(data.get("errors"), list) and data["errors"] and isinstance(data["errors"][0], dict):
        code = data["errors"][0].get("code")
    return code if isinstance(code, str) and ERROR_CODE.fullmatch(code) else None


def _retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def build_session(config: Config, rate_limit: RateLimitState, stop: threading.Event | None = None) -> ZendeskSession:
    """Our session, authorized by zenpy as for its own calls; auth from the config, never logged.

    `stop`: once set, calls in flight are cut short and raise :class:`Stopped`.
    """
    config.require_zendesk()
    subdomain = config.zendesk_subdomain or "sandbox"  # zenpy insists on one; URLs come from the base URL
    session = ZendeskSession(config.zendesk_base_url, rate_limit, config.zendesk_timeout_seconds, stop)
    session.headers["User-Agent"] = "OutageDesk/0.1 (zenpy)"
    # zenpy's public `session=` argument puts the token (or OAuth bearer) on the session it is given.
    if config.zendesk_oauth_token:
        Zenpy(subdomain=subdomain, oauth_token=config.zendesk_oauth_token, session=session, disable_cache=True)
    else:
        Zenpy(subdomain=subdomain, email=config.zendesk_email, token=config.zendesk_api_token,
              session=session, disable_cache=True)
    return session
