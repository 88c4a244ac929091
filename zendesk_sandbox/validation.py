"""Validation errors collected from one request body, answered in the shape its API uses."""

from __future__ import annotations

from zendesk_sandbox.errors import ApiError


class Problems:
    """Everything wrong with a body, by attribute, so one answer lists it all (as Zendesk's do)."""

    def __init__(self) -> None:
        self._found: list[tuple[str, str, str]] = []

    def add(self, attribute: str, description: str, code: str = "InvalidValue") -> None:
        """Note one problem: the attribute at fault, a readable description and an error code."""
        self._found.append((attribute, description, code))

    def raise_record_invalid(self) -> None:
        """The classic Support API answer: 422 RecordInvalid with details by attribute.

        :raises ApiError: if any problem was noted.
        """
        if not self._found:
            return
        details: dict[str, list[dict]] = {}
        for attribute, description, code in self._found:
            details.setdefault(attribute, []).append({"description": description, "error": code})
        raise ApiError(422, "RecordInvalid", "Record validation errors", details=details)

    def raise_error_list(self) -> None:
        """The newer APIs' answer (trigger categories, webhooks): 400 with an `errors` list.

        :raises ApiError: if any problem was noted.
        """
        if not self._found:
            return
        errors = [{"code": code, "title": description} for _, description, code in self._found]
        raise ApiError.with_body(400, {"errors": errors})
