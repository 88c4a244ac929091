from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.packaging import package_files, validate_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_copy(tmp_path) -> Path:
    """The real app as zcli would package it, copied where a test may break it."""
    root = tmp_path / "app"
    for path in package_files(REPO) + [".zcliignore"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, root / path)
    assert validate_app(root) == []
    return root
