"""validations/marketplace.rb, source.rb and requirements.rb: symlinks, experiments, source and requirements files."""

from __future__ import annotations

import re

from app.packaging.manifest import Manifest
from app.packaging.messages import message
from app.packaging.package import Package
from app.packaging.ruby import truthy

WHITELISTED_EXPERIMENTS = ("hashParams", "newCssCompiler")


def marketplace_errors(pkg: Package, manifest: Manifest) -> list[str]:
    """validations/marketplace.rb (Package#validate runs it by default)."""
    errors = [message("symlink_in_zip")] if any((pkg.root / f).is_symlink() for f in pkg.files) else []
    experiments = manifest.experiments
    return errors + [message("invalid_experiment", experiment=name)
                     for name, on in experiments.items() if truthy(on) and name not in WHITELISTED_EXPERIMENTS]


def source_errors(pkg: Package, manifest: Manifest) -> list[str]:
    """validations/source.rb."""
    if not (truthy(manifest.requirements_only) or truthy(manifest.marketing_only)):
        return []
    css = next((pkg.read(name) for name in ("app.scss", "app.css") if pkg.has_file(name)), b"")
    has_source = any(re.fullmatch(r".*\.jsx?", f) or re.fullmatch(r"templates/.*\.hdbs", f) for f in pkg.files)
    return [message("no_source_required_apps")] if has_source or css else []


def requirements_errors(pkg: Package, manifest: Manifest) -> list[str]:
    """validations/requirements.rb, presence only: its rules about the file's contents are not ported."""
    if truthy(manifest.requirements_only) and "requirements.json" not in pkg.files:
        return [message("missing_requirements")]
    if "requirements.json" in pkg.files:
        # Not Zendesk's words: refuse to call a package clean when we cannot check part of it.
        return ["requirements.json is not checked offline (validations/requirements.rb is not ported); "
                "run `zcli apps:validate`"]
    return []
