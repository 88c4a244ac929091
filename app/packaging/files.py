"""Which files ``zcli apps:package`` zips (zendesk/zcli packages/zcli-apps/src/lib/package.ts)."""

from __future__ import annotations

import os
from pathlib import Path

from app.packaging.zcliignore import Glob, zcliignore_lines


def package_files(root: Path) -> list[str]:
    """The files zcli would zip from ``root``: no dot-paths, no ``tmp/``, nothing ``.zcliignore`` matches."""
    ignores = [Glob("tmp/**")] + [Glob(line) for line in zcliignore_lines(root)]
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        # zcli globs "**" without {dot: true}, so dot-files and dot-directories never match.
        dirnames[:] = [name for name in dirnames if not name.startswith(".")
                       and not any(glob.ignores_all_under(prefix + name) for glob in ignores)]
        # A symlinked directory is archived as the link itself (readdir-glob lstats and does not follow).
        links = [name for name in dirnames if os.path.islink(os.path.join(directory, name))]
        dirnames[:] = [name for name in dirnames if name not in links]
        for name in filenames + links:
            path = prefix + name
            if not name.startswith(".") and not any(glob.ignores(path) for glob in ignores):
                found.append(path)
    return sorted(found)
