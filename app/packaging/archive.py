"""The app zipped as ``zcli apps:package`` zips it, once it validates."""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone
from pathlib import Path

from app.errors import InputError
from app.packaging.files import package_files
from app.packaging.validation import validate_app
from app.private_files import open_private


def build_package(root: Path, out_dir: Path) -> Path:
    """Validate, then zip the app as ``zcli apps:package`` does, into ``out_dir/app-<UTC timestamp>.zip``."""
    errors = validate_app(root)
    if errors:
        raise InputError(f"Zendesk would reject the app package ({len(errors)} problems): " + "; ".join(errors))
    now = datetime.now(timezone.utc)
    # zcli names it from new Date().toISOString() with every non-digit removed: 17 digits, UTC, milliseconds.
    target = out_dir / f"app-{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}.zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_private(target, "wb") as file, \
            zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, strict_timestamps=False) as archive:
        for path in package_files(root):
            archive.write(root / path, path)
    return target
