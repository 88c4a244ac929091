"""The manifest as manifest.rb reads it: its fields with defaults, locations and parameters."""

from __future__ import annotations

from typing import Any

from app.packaging.products import PRODUCTS, known_location
from app.packaging.ruby import gem_compare, rb, ruby_or, truthy
from app.packaging.ruby_json import DuplicateKey


class Manifest:
    """manifest.rb: the fields with the validator's defaults, and its view of locations and parameters."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.requirements_only = ruby_or(data.get("requirementsOnly"), False)
        self.marketing_only = ruby_or(data.get("marketingOnly"), False)
        self.single_install = ruby_or(data.get("singleInstall"), False)
        self.signed_urls = ruby_or(data.get("signedUrls"), False)
        self.private = data.get("private", True)
        self.no_template = ruby_or(data.get("noTemplate"), False)
        self.experiments = ruby_or(data.get("experiments"), {})
        self.author = data.get("author")
        self.default_locale = data.get("defaultLocale")
        self.framework_version = data.get("frameworkVersion")
        self.oauth = data.get("oauth")
        self.original_parameters = data.get("parameters")
        # A parameter that is not an object reads as one without keys (Ruby's String#[] gives nil).
        self.parameters = [Parameter(p if isinstance(p, dict) else {})
                           for p in (self.original_parameters if isinstance(self.original_parameters, list) else [])]
        self.locations, self.used_hosts = _locations(data.get("location"))
        self.location_options = [
            (product, name, {"signed": self.signed_urls, **options})
            for product, by_name in self.locations.items() for name, options in by_name.items()]

    def iframe_only(self) -> bool:
        """manifest.rb iframe_only?: framework version 2 or later."""
        return truthy(self.framework_version) and gem_compare(self.framework_version) in (0, 1)

    def products(self) -> list[str]:
        """manifest.rb products: the products the app runs in."""
        if truthy(self.requirements_only):
            return ["support"]
        if truthy(self.marketing_only):
            return list(self.locations)
        return list(dict.fromkeys(product for product, name, _ in self.location_options
                                  if known_location(product, name)))


class Parameter:
    """manifest/parameter.rb."""

    def __init__(self, p: dict[str, Any]):
        self.name = p.get("name")
        self.type = ruby_or(p.get("type"), "text")
        self.required = ruby_or(p.get("required"), False)
        self.secure = ruby_or(p.get("secure"), False)
        self.scopes = p.get("scopes")


def _locations(original: Any) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """manifest.rb set_locations_and_hosts: per product, each location's options; and the hosts named."""
    if isinstance(original, dict):
        locations = {}
        for product, legacy in PRODUCTS:
            value = original[product] if product in original else original.get(legacy)
            # Only an object of locations is understood; Ruby crashes on or misreads other shapes.
            if truthy(value) and isinstance(value, dict):
                locations[product] = {name: options if isinstance(options, dict) else {"url": options}
                                      for name, options in value.items()}
        return locations, list(original)
    if isinstance(original, list):
        by_name: dict[str, dict[str, Any]] = {}
        for name in map(rb, original):
            if name in by_name:
                raise DuplicateKey(name, by_name[name]["url"], "_legacy")
            by_name[name] = {"url": "_legacy"}
        return {"support": by_name}, ["support"]
    if isinstance(original, str):
        return {"support": {original: {"url": "_legacy"}}}, ["support"]
    return {"support": {}}, ["support"]
