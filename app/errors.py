"""The few named errors of Outage Desk, mapped once to HTTP codes and CLI exit codes."""

from __future__ import annotations


class OutageDeskError(Exception):
    """Base of every error Outage Desk raises on purpose."""

    http_status = 500
    exit_code = 1


class ConfigError(OutageDeskError):
    """A setting is missing or wrong; names the variable, never its value."""

    exit_code = 78  # EX_CONFIG

    def __init__(self, var: str, problem: str = "is not set"):
        super().__init__(f"{var} {problem}")
        self.var = var


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


class ZendeskError(OutageDeskError):
    """Zendesk refused or failed a call; `response` may be None for network errors."""

    http_status = 502
    exit_code = 4

    def __init__(self, message: str, response=None):
        super().__init__(message)
        self.response = response


class ZendeskHttpError(ZendeskError):
    """Zendesk answered with an error status."""

    def __init__(self, message: str, response):
        super().__init__(message, response)
        self.status_code = response.status_code


class ZendeskAuthError(ZendeskHttpError):
    """401/403 from Zendesk: wrong credentials or missing permission; never retried."""

    exit_code = 77  # EX_NOPERM


class ZendeskRateLimited(ZendeskHttpError):
    """429 from Zendesk, with the wait it asked for."""

    def __init__(self, message: str, response, retry_after: float):
        super().__init__(message, response)
        self.retry_after = retry_after


class ZendeskServerError(ZendeskHttpError):
    """5xx from Zendesk; retried with backoff by the gateway."""
