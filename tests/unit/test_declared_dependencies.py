"""Every package app/ and zendesk_sandbox/ import is declared in pyproject.toml.

A package that only comes in through another one's requirements (jinja2 and werkzeug
through Flask) can be dropped or bumped by it without our knowing.
"""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"app", "zendesk_sandbox"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(*folders: str) -> dict[str, str]:
    """Top-level module imported -> the first file importing it, for absolute imports."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_canonical(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)) for requirement in project["dependencies"]}


def test_every_third_party_import_is_a_declared_dependency():
    distributions = packages_distributions()
    declared = declared_distributions()
    undeclared = {}
    for module, path in imported_modules("app", "zendesk_sandbox").items():
        if module in FIRST_PARTY or module in sys.stdlib_module_names:
            continue
        owners = {_canonical(name) for name in distributions.get(module, [])}
        assert owners, f"{module} (imported in {path}) comes from no installed distribution"
        if not owners & declared:
            undeclared[module] = (sorted(owners), path)
    assert not undeclared, f"imported but not declared in pyproject.toml's dependencies: {undeclared}"


def test_the_scan_sees_the_packages_flask_brings_in():
    # The scan must find imports at any depth, or the test above would pass on an empty set.
    modules = imported_modules("app", "zendesk_sandbox")
    assert {"flask", "jinja2", "werkzeug", "zenpy", "requests"} <= modules.keys()
