"""The few named errors of Outage Desk, mapped once to HTTP codes and CLI exit codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

LOGGED_TICKETS = 20  # ticket ids a log line about a failed call names at most


class OutageDeskError(Exception):
    """Base of every error Outage Desk raises on purpose."""

    http_status = 500
    exit_code = 1
    next_step = ""  # what the operator does about it, said after the CLI's one line

    def log_fields(self) -> dict[str, object]:
        """What a log line about this error should carry besides its message."""
        return {"error": type(self).__name__}

    def details(self) -> dict[str, object]:
        """What an HTTP answer carries besides the reason, for a client to act on (never a secret)."""
        return {}


class ConfigError(OutageDeskError):
    """Settings missing or wrong: names every variable at fault at once, never its value."""

    exit_code = 78  # EX_CONFIG
    http_status = 503  # this node cannot serve the request until its operator fixes the settings

    @property
    def next_step(self) -> str:
        named = "it" if len(self.problems) == 1 else "them"
        return f"set {named} in the environment or .env (see Configuration in the README)"

    def __init__(self, var: str | Mapping[str, str], problem: str = "is not set"):
        # variable -> what is wrong with it, in the order found
        self.problems = {var: problem} if isinstance(var, str) else dict(var)
        super().__init__(_listed(self.problems))


def _listed(problems: Mapping[str, str]) -> str:
    """The variables grouped by their problem: `A, B and C are not set; D must be a whole number`."""
    grouped: dict[str, list[str]] = {}
    for var, problem in problems.items():
        grouped.setdefault(problem, []).append(var)
    parts = []
    for problem, names in grouped.items():
        if len(names) > 1 and problem.startswith("is "):
            problem = "are " + problem[len("is "):]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        parts.append(f"{listed} {problem}")
    return "; ".join(parts)


class SecretKeyMismatch(ConfigError):
    """A value in the store does not open with OUTAGE_DESK_SECRET_KEY: another key sealed it, or it was altered."""

    next_step = ""  # the message says what to do already

    def __init__(self):
        super().__init__("OUTAGE_DESK_SECRET_KEY", "does not match the key the stored secret was encrypted with, "
                         "or the stored value was altered: set the key it was stored with, or run "
                         "`outage-desk setup` again to store the secret anew")


class InputError(OutageDeskError):
    """Input from a caller that we refuse, with the reason."""

    http_status = 400
    exit_code = 2

    def __init__(self, reason: str, http_status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        if http_status is not None:
            self.http_status = http_status


class SignatureError(InputError):
    """A webhook or sidebar request whose signature we cannot trust."""

    http_status = 401


class PermissionDenied(InputError):
    """A verified caller whose Zendesk role does not allow the action."""

    http_status = 403
    exit_code = 77  # EX_NOPERM


class StateError(OutageDeskError):
    """The request conflicts with the incident's current state (e.g. none active)."""

    http_status = 409
    exit_code = 3
    next_step = "`outage-desk status` shows where things stand"


class TooSoon(StateError):
    """An interim update within the interval after the last one: customers get at most one per interval."""

    def __init__(self, reason: str, next_allowed_at: datetime):
        super().__init__(reason)
        self.next_allowed_at = next_allowed_at

    def details(self) -> dict[str, object]:
        return {"next_allowed_at": self.next_allowed_at.isoformat()}


class Stopped(OutageDeskError):
    """The worker was told to stop (SIGTERM) while a job ran; the store says what is left to do."""


class LeaseLost(OutageDeskError):
    """Another worker holds the worker lease now: this one must not write to Zendesk any more."""


class ZendeskError(OutageDeskError):
    """Zendesk refused or failed a call; `response` is None when no answer came.

    `endpoint` ("GET /api/v2/tickets/show_many.json") and `tickets` (the ids the call was about,
    if any) say which call it was in logs; neither holds a query string or a secret.
    """

    http_status = 502
    exit_code = 4
    # A passing fault (no answer, a 5xx, a 429, a bad answer, a timeout): the same command later may succeed.
    resumable = True

    @property
    def next_step(self) -> str:
        # declare and resolve keep their work in the store: after Zendesk failed them, the same command carries on.
        return "nothing is lost: run the same command again to carry on" if self.resumable else ""

    def __init__(self, message: str, response=None, endpoint: str | None = None):
        super().__init__(message)
        self.response = response
        self.endpoint = endpoint
        self.tickets: tuple[int, ...] = ()

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    def log_fields(self) -> dict[str, object]:
        fields = {**super().log_fields(), "endpoint": self.endpoint, "status": self.status}
        if self.tickets:
            # A bulk call may be about thousands: enough of them to find the batch in Zendesk.
            shown = ",".join(map(str, self.tickets[:LOGGED_TICKETS]))
            more = len(self.tickets) - LOGGED_TICKETS
            fields["tickets"] = shown + (f",+{more} more" if more > 0 else "")
        return fields


class ZendeskUnreachable(ZendeskError):
    """No answer: the connection failed or broke, again after the gateway's retries."""


class ZendeskTimeout(ZendeskUnreachable):
    """Zendesk did not finish answering within the call's deadline (ZENDESK_TIMEOUT_SECONDS)."""


class ZendeskBadAnswer(ZendeskError):
    """A success status with a body that is not the JSON we expect (HTML, cut off, empty, wrong shape)."""


class ZendeskHttpError(ZendeskError):
    """Zendesk answered with an error status."""

    resumable = False  # it refused the call itself: running it again changes nothing
    def __init__(self, message: str, response, endpoint: str | None = None):
        super().__init__(message, response, endpoint)
        self.status_code = response.status_code


class ZendeskAuthError(ZendeskHttpError):
    """401/403 from Zendesk: wrong credentials or missing permission; never retried."""

    exit_code = 77  # EX_NOPERM
    next_step = "check ZENDESK_EMAIL and the API token, and that the user may do this in Zendesk"


class TalkUnavailable(ZendeskAuthError):
    """403 from a Talk endpoint: the account has no Zendesk Talk, or the API user has no access to it."""

    def __init__(self, error: ZendeskAuthError):
        super().__init__(f"Zendesk Talk is not enabled on this account, or the API user cannot use it "
                         f"({error})", error.response, error.endpoint)


class ZendeskRateLimited(ZendeskHttpError):
    """429 from Zendesk, with the wait it asked for."""

    resumable = True

    def __init__(self, message: str, response, retry_after: float, endpoint: str | None = None):
        super().__init__(message, response, endpoint)
        self.retry_after = retry_after


class ZendeskServerError(ZendeskHttpError):
    """5xx from Zendesk; retried with backoff by the gateway."""

    resumable = True
