"""validations/translations.rb: locale names, each file's shape, and the Marketplace strings in en.json."""

from __future__ import annotations

import re
from typing import Any

from app.packaging.manifest import Manifest
from app.packaging.messages import message
from app.packaging.package import Package
from app.packaging.products import PRODUCTS
from app.packaging.ruby import rb, truthy
from app.packaging.ruby_json import parse_json

VALID_LOCALE = re.compile(r"^[a-z]{2,3}(-\w{2,3})?$", re.MULTILINE | re.ASCII)


def translation_errors(pkg: Package, manifest: Manifest) -> list[str]:
    """validations/translations.rb."""
    errors: list[str] = []
    for path in pkg.files:
        match = re.match(r"^translations/(.*)\.json$", path)
        if not match:
            continue
        try:
            data = parse_json(pkg.read(path))
        except ValueError as error:
            data = error
        if not VALID_LOCALE.search(match[1]):
            errors.append(message("translation.invalid_locale", file=path))
        if isinstance(data, ValueError):
            errors.append(message("translation.not_json", file=path, errors=data))
        elif not isinstance(data, dict):
            errors.append(message("translation.not_json_object", file=path))
        else:
            errors += _translation_format_errors(path, data)
        # Once any translation file has failed, the marketplace strings are no longer checked.
        if not errors and path == "translations/en.json":
            errors += _marketplace_string_errors(path, data, manifest)
    return errors


def _translation_format_errors(path: str, data: dict[str, Any]) -> list[str]:
    app = data.get("app")
    errors = []
    if isinstance(app, dict) and truthy(app.get("package")):
        # A packaged translation must be all {"title", "value"} leaves once "package" is set aside.
        rest = {**data, "app": {k: v for k, v in app.items() if k != "package"}}
        if (bad := _bad_packaged_leaf(rest)) is not None:
            errors.append(message("translation.invalid_format", field=bad))
    parameters = app.get("parameters") if isinstance(app, dict) else None
    if isinstance(parameters, dict):
        leaf = next((name for name, node in parameters.items() if not (isinstance(node, dict) and "label" in node)),
                    None)
        if leaf is not None:
            errors.append(message("translation.missing_required_key_on_leaf", file=path, missing_key="label",
                                   leaf=leaf))
    return errors


def _bad_packaged_leaf(node: dict[str, Any]) -> str | None:
    for key, value in node.items():
        if not isinstance(value, dict):
            return f"'{key}': '{rb(value)}'"
        if not (sorted(value) == ["title", "value"] and all(isinstance(v, str) for v in value.values())):
            if (bad := _bad_packaged_leaf(value)) is not None:
                return bad
    return None


def _marketplace_string_errors(path: str, data: dict[str, Any], manifest: Manifest) -> list[str]:
    app = data.get("app") if isinstance(data.get("app"), dict) else {}
    product_names = [product for product, _ in PRODUCTS]
    present = [key for key in app if key in product_names]
    # Private apps only need a name; public ones need all four Marketplace strings.
    required = ["name"] if truthy(manifest.private) else ["name", "short_description", "installation_instructions",
                                                            "long_description"]

    def missing(keys: list[str]) -> list[str]:
        keys = ["short_description" if key == "description" else key for key in keys]
        return [key for key in required if key not in keys]

    if not present:
        absent = missing(list(app))
        return [message("translation.missing_required_key", file=path, missing_key=", ".join(absent))] \
            if absent else []
    errors = []
    manifest_products = manifest.products()
    if any(product not in manifest_products for product in present):
        errors.append(message("translation.products_do_not_match_manifest_products",
                               manifest_products=", ".join(p.capitalize() for p in manifest_products),
                               translation_products=", ".join(p.capitalize() for p in present)))
    for product in present:
        absent = missing(list(app[product]) if isinstance(app[product], dict) else [])
        if absent:
            errors.append(message("translation.missing_required_key_for_product", file=path,
                                   product=product.capitalize(), missing_key=", ".join(absent)))
            break
    return errors
