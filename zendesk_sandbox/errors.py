"""Zendesk-shaped error responses raised from sandbox views."""

from __future__ import annotations

from typing import Any

from flask import request

FORBIDDEN_MESSAGE = (
    "You do not have access to this page. Please contact the account owner of this help desk for further help."
)


class ApiError(Exception):
    """An error response: HTTP status plus Zendesk's {"error", "description"} body."""

    def __init__(self, status: int, error: str, description: str | None = None, **extra: Any):
        super().__init__(description or error)
        self.status = status
        self.body: dict[str, Any] = {"error": error}
        if description is not None:
            self.body["description"] = description
        self.body.update(extra)

    @classmethod
    def with_body(cls, status: int, body: dict[str, Any]) -> ApiError:
        """An error whose body does not follow the {"error", "description"} shape."""
        error = cls(status, "")
        error.body = body
        return error


def not_found() -> ApiError:
    """Zendesk's 404."""
    return ApiError(404, "RecordNotFound", "Not found")


def forbidden() -> ApiError:
    """Zendesk's 403 for an API token whose user lacks the role (as API-token clients receive it)."""
    return ApiError.with_body(403, {"error": {"title": "Forbidden", "message": FORBIDDEN_MESSAGE}})


def json_body() -> dict:
    """The request's JSON object body.

    :raises ApiError: 400 if the body is not a JSON object.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidParameter", "The request body must be a JSON object")
    return body


def resource_body(key: str) -> dict:
    """The `{key: {...}}` object of a write; missing reads as empty, so validation names what is missing.

    :raises ApiError: 400 if the body is not a JSON object.
    """
    resource = json_body().get(key)
    return resource if isinstance(resource, dict) else {}


def int_list(raw: str | None, name: str = "ids", limit: int = 100) -> list[int]:
    """Parse a comma-separated id list, as Zendesk's show_many endpoints take.

    :raises ApiError: 400 when missing, not numbers, or longer than `limit`.
    """
    if not raw:
        raise ApiError(400, "InvalidParameter", f"Parameter {name} is required")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"Parameter {name} must be comma-separated integers") from None
    if len(ids) > limit:
        raise ApiError(400, "TooManyValues", f"You specified {len(ids)} {name}; the limit is {limit}")
    return ids


def int_arg(name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
    """An integer query parameter, clamped to [low, high].

    :raises ApiError: 400 when it is not an integer.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"Parameter {name} must be an integer") from None
    value = max(value, low)
    return min(value, high) if high is not None else value
