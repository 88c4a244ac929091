"""How the gem's Ruby sees the JSON values it checks: truthiness, interpolation, class names, versions."""

from __future__ import annotations

import json
import re
from typing import Any

RUBY_HASH_CLASS = "ZendeskAppsSupport::Manifest::NoOverrideHash"  # Ruby's class for every JSON object


def rb(value: Any) -> str:
    """How Ruby's string interpolation would print a JSON value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def ruby_class(value: Any) -> str:
    """The name of the Ruby class the gem's JSON parser gives ``value``."""
    if isinstance(value, dict):
        return RUBY_HASH_CLASS
    if isinstance(value, bool):
        return "TrueClass" if value else "FalseClass"
    return {type(None): "NilClass", int: "Integer", float: "Float", str: "String", list: "Array"}[type(value)]


def truthy(value: Any) -> bool:
    """Ruby truthiness: only nil and false are false."""
    return value is not None and value is not False


def ruby_or(value: Any, default: Any) -> Any:
    """Ruby's ``value || default``."""
    return value if truthy(value) else default


def gem_compare(version: Any) -> int | None:
    """``Gem::Version.new(version) <=> Gem::Version.new("2")``; None where Ruby would raise."""
    text = str(version).strip()
    if not re.fullmatch(r"([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?", text):
        return None
    segments: list[int | str] = [int(s) if s.isdigit() else s
                                 for s in re.findall(r"[0-9]+|[a-z]+", text.replace("-", ".pre."), re.I)] or [0]
    release = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    numbers = segments[:release]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    segments = numbers + segments[release:]
    for i in range(max(len(segments), 1)):
        lhs, rhs = segments[i] if i < len(segments) else 0, 2 if i == 0 else 0
        if lhs == rhs:
            continue
        if isinstance(lhs, str):
            return -1  # a pre-release sorts before the release
        return -1 if lhs < rhs else 1
    return 0
