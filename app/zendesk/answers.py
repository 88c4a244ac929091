"""Zendesk's answers read with their shape checked: anything but the JSON we expect is a ZendeskBadAnswer.

A proxy's HTML page, a body cut off mid-way, an empty one, `{"tickets": null}` or an object
without its id must reach the caller as one named error that says which call it was and
what was wrong, never as a KeyError or a JSONDecodeError. It does not quote the body: a
proxy's page may echo the request's credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from app.errors import ZendeskBadAnswer

T = TypeVar("T")
Redact = Callable[[str], str]  # text -> the same without credentials (app.zendesk.redaction)
MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")

# What a conversion of Zendesk's JSON raises when a key is missing or a value has the wrong type.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class Answer:
    """One JSON object Zendesk answered to `what` ("GET /api/v2/…"), read key by key."""

    def __init__(self, data: dict[str, Any], what: str, response: requests.Response, redact: Redact):
        self.data = data
        self.what = what
        self.redact = redact
        self._response = response

    @classmethod
    def of(cls, response: requests.Response, what: str, redact: Redact) -> Answer:
        """The answer's body as a JSON object.

        :raises ZendeskBadAnswer: not JSON (HTML, cut off, empty), or JSON but not an object.
        """
        try:
            data = response.json()
        except ValueError:
            raise ZendeskBadAnswer(f"Zendesk's answer to {what} is not JSON ({_described(response)})",
                                   response, what) from None
        if not isinstance(data, dict):
            raise ZendeskBadAnswer(f"Zendesk's answer to {what} is not a JSON object", response, what)
        return cls(data, what, response, redact)

    def bad(self, problem: str) -> ZendeskBadAnswer:
        """The error for an answer that is not what we expect, and why."""
        return ZendeskBadAnswer(f"Zendesk's answer to {self.what} is not what we expect ({self.redact(problem)})",
                                self._response, self.what)

    def object(self, key: str) -> dict[str, Any]:
        """`data[key]`, which must be an object."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.bad(f"{key!r} is not an object")
        return value

    def objects(self, key: str, optional: bool = False) -> list[dict[str, Any]]:
        """`data[key]`, which must be a list of objects (missing or null too, if `optional`)."""
        value = self.data.get(key)
        if value is None and optional:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.bad(f"{key!r} is not a list of objects")
        return value

    def text(self, data: dict[str, Any], key: str) -> str:
        """`data[key]`, which must be a non-empty string (or a number, as some ids are)."""
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise self.bad(f"{key!r} is missing or not a string")
        return str(value)

    def next_url(self) -> str | None:
        """The next page of a cursor-paginated listing, or None on the last."""
        meta, links = self.data.get("meta") or {}, self.data.get("links") or {}
        if not isinstance(meta, dict) or not isinstance(links, dict):
            raise self.bad("'meta' or 'links' is not an object")
        next_url = links.get("next")
        if not meta.get("has_more") or not next_url:
            return None
        if not isinstance(next_url, str):
            raise self.bad("'links.next' is not a URL")
        return next_url

    def build(self, make: Callable[[dict[str, Any]], T], data: dict[str, Any]) -> T:
        """`make(data)`, one of our small types from Zendesk's JSON; a missing id is a bad answer."""
        try:
            return make(data)
        except SHAPE_ERRORS as error:
            raise self.bad(f"{type(error).__name__}: {error}") from None


def _described(response: requests.Response) -> str:
    """What came instead of JSON, without quoting it: its size and media type."""
    if not response.content:
        return "an empty body"
    media = response.headers.get("Content-Type", "").split(";")[0].strip()
    return f"{len(response.content)} bytes of {media if MEDIA_TYPE.fullmatch(media) else 'unknown type'}"
