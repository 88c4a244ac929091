"""JSON read as the gem reads it: Ruby's parser, and the manifest's refusal of duplicate keys."""

from __future__ import annotations

import json
from typing import Any

from app.packaging.ruby import rb


class DuplicateKey(ValueError):
    """A key set twice in the manifest (manifest/no_override_hash.rb OverrideError)."""

    def __init__(self, key: str, original: Any, attempted: Any):
        super().__init__(key)
        self.key, self.original, self.attempted = key, original, attempted

    def message(self) -> str:
        """manifest/no_override_hash.rb OverrideError#message."""
        text = f'Duplicate reference in manifest: "{self.key}".'
        if any(isinstance(value, str) and "_legacy" in value for value in (self.original, self.attempted)):
            return text
        return f'{text} Initially set to "{rb(self.original)}", attempted overwrite to "{rb(self.attempted)}".'


def parse_json(raw: bytes, reject_duplicates: bool = False) -> Any:
    """``raw`` parsed as Ruby's JSON would, raising DuplicateKey on a repeated key if asked."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise DuplicateKey(key, result[key], value)
            result[key] = value
        return result

    def no_constants(name: str) -> Any:
        raise ValueError(f"unexpected token '{name}'")  # Ruby's JSON refuses NaN and Infinity

    return json.loads(raw.decode("utf-8"), parse_constant=no_constants,
                      object_pairs_hook=no_duplicates if reject_duplicates else None)
