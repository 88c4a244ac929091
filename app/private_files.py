"""Files Outage Desk creates are its user's alone (0600): the store holds customers' data and secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def create_private(path: Path) -> None:
    """Create `path` empty and private, unless it exists: an existing file keeps its mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        pass


def open_private(path: Path, mode: str, **kwargs) -> IO:
    """`open(path, mode)` for writing; a file it creates is private, an existing one keeps its mode."""
    return open(path, mode, opener=lambda name, flags: os.open(name, flags, PRIVATE), **kwargs)
