"""Zendesk pagination: opaque cursors, offset pages and the links between pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from urllib.parse import urlencode

from flask import request

from zendesk_sandbox.context import base_url
from zendesk_sandbox.errors import ApiError, int_arg

MAX_PAGE_SIZE = 100


def encode_cursor(data: dict) -> str:
    """An opaque cursor token carrying `data`."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict:
    """The data inside a cursor token.

    :raises ApiError: 400 for a token this sandbox did not issue.
    """
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(400, "InvalidPaginationParameter", "The cursor is invalid") from None
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidPaginationParameter", "The cursor is invalid")
    return data


def page_url(path: str, params: dict, suffix: str = ".json") -> str:
    """An absolute API url for another page; Zendesk writes them with .json, except where an API takes none."""
    return f"{base_url()}{path}{suffix}?{urlencode(params)}"


def offset_page(items: list, *, key: str, path: str, render: Callable[[object], dict]) -> dict:
    """One page of `items` by ?page=&per_page= (at most 100), with next_page/previous_page/count."""
    per_page = int_arg("per_page", MAX_PAGE_SIZE, high=MAX_PAGE_SIZE)
    page = int_arg("page", 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    params = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}

    def link(number: int) -> str:
        return page_url(path, {**params, "page": number, "per_page": per_page})

    return {
        key: [render(item) for item in chunk],
        "next_page": link(page + 1) if page * per_page < len(items) else None,
        "previous_page": link(page - 1) if page > 1 else None,
        "count": len(items),
    }


def cursor_page(
    items: list,
    *,
    key: str,
    path: str,
    position: Callable[[object], list],
    render: Callable[[object], dict],
    suffix: str = ".json",
) -> dict:
    """One page of sorted `items` by ?page[size]=&page[after]= (at most 100), with meta and links."""
    size = int_arg("page[size]", MAX_PAGE_SIZE, high=MAX_PAGE_SIZE)
    after = request.args.get("page[after]")
    start = 0
    if after:
        mark = decode_cursor(after).get("after")
        if not isinstance(mark, list):
            raise ApiError(400, "InvalidPaginationParameter", "The cursor is invalid")
        try:
            start = next((index for index, item in enumerate(items) if position(item) > mark), len(items))
        except TypeError:
            raise ApiError(400, "InvalidPaginationParameter", "The cursor is invalid") from None
    chunk = items[start : start + size]
    has_more = start + size < len(items)
    cursor = encode_cursor({"after": position(chunk[-1])}) if has_more else None
    params = {k: v for k, v in request.args.items() if k != "page[after]"}
    return {
        key: [render(item) for item in chunk],
        "meta": {"has_more": has_more, "after_cursor": cursor, "before_cursor": None},
        "links": {"next": page_url(path, {**params, "page[after]": cursor}, suffix) if cursor else None, "prev": None},
    }
