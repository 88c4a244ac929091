"""The unzipped app as Zendesk's package.rb reads it."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from app.packaging.ruby_json import parse_json

MANIFEST = "manifest.json"


class Package:
    """The unzipped app as Zendesk sees it: the package files, read from ``root``."""

    def __init__(self, root: Path, files: list[str]):
        self.root = root
        self.files = files
        self._present = set(files)
        self._manifest: Any = None

    def has_file(self, path: str) -> bool:
        """Package#has_file?: File.file? inside the package, so ``.`` and ``..`` resolve as the OS would."""
        return posixpath.normpath(path) in self._present

    def read(self, path: str, size: int = -1) -> bytes:
        """The first ``size`` bytes of a package file, or all of it."""
        with (self.root / path).open("rb") as handle:
            return handle.read(size)

    @property
    def manifest_data(self) -> dict[str, Any]:
        """manifest.json, parsed once, duplicate keys refused."""
        if self._manifest is None:
            self._manifest = parse_json(self.read(MANIFEST), reject_duplicates=True)
        return self._manifest
