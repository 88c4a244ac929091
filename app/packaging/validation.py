"""Package#validate (package.rb): the rules, in the gem's order, over the files zcli would zip."""

from __future__ import annotations

from pathlib import Path

from app.packaging.assets import banner_errors, mime_errors
from app.packaging.files import package_files
from app.packaging.manifest import Manifest
from app.packaging.manifest_rules import manifest_errors
from app.packaging.package import MANIFEST, Package
from app.packaging.package_rules import marketplace_errors, requirements_errors, source_errors
from app.packaging.translations import translation_errors


def validate_app(root: Path) -> list[str]:
    """The errors Zendesk's Package#validate would report for the zip zcli would build from ``root``."""
    files = package_files(root)
    pkg = Package(root, files)
    # package.rb: the other checks only run once the manifest itself is clean.
    errors = manifest_errors(pkg)
    if MANIFEST in files and not errors:
        manifest = Manifest(pkg.manifest_data)
        errors += marketplace_errors(pkg, manifest)
        errors += source_errors(pkg, manifest)
        errors += translation_errors(pkg, manifest)
        errors += requirements_errors(pkg, manifest)
    if "assets/banner.png" in files:
        errors += banner_errors(pkg)
    errors += mime_errors(pkg)
    return errors
