"""app/ uses zenpy (and every other library) through its public API only.

zenpy's `_get`, `_call_api` and `_build_url` may change in any release; the gateway's raw
requests go through app/zendesk/transport.py instead. The rule, checked on the source: no
`x._name` unless `x` is `self`, `cls` or `super()` (a subclass overriding its base's hook),
and nothing imported from zenpy's internal `zenpy.lib` package.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def private_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [f"line {node.lineno}: import {name}" for name in names if name.startswith("zenpy.")]
    return found


def test_app_reaches_no_private_attribute_of_zenpy_or_any_other_object():
    offenders = {str(path.relative_to(ROOT)): uses for path in sorted((ROOT / "app").rglob("*.py"))
                 if (uses := private_uses(path.read_text()))}
    assert not offenders, f"private attributes used outside their own class: {offenders}"


def test_the_check_catches_the_old_private_calls():
    # What the gateway did before the transport: each form must be caught.
    old = (
        "url = api._build_url(Url(path))\n"
        "response = api._get(url, raw_response=True)\n"
        "api._call_api(api.session.put, url, json={}, timeout=api.timeout)\n"
        "redact = self._client.tickets.session._secrets\n"
        "from zenpy.lib.endpoint import Url\n"
    )
    assert len(private_uses(old)) == 5
    assert private_uses("self._transport.get(url)\nsuper()._get_conn(timeout)\n") == []
