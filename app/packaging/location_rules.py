"""manifest.rb's checks on the app locations (location.rb, manifest/location_options.rb)."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.packaging.manifest import Manifest
from app.packaging.messages import join, message
from app.packaging.package import Package
from app.packaging.products import GATED_LOCATION, PRODUCTS, known_location
from app.packaging.ruby import gem_compare, truthy
from app.packaging.urls import rfc3986


def location_errors(manifest: Manifest, pkg: Package) -> list[str]:
    errors = [] if manifest.location_options else [message("manifest_keys.missing", count=1, missing_keys="location")]
    for _product, name, options in manifest.location_options:
        url = options.get("url")
        if isinstance(url, str) and url:
            if not _valid_location_uri(url, pkg):
                errors.append(message("invalid_location_uri", uri=url))
        elif truthy(options.get("autoLoad", True)):
            errors.append(message("blank_location_uri", location=name))
        if options.get("flexible") is not None and not isinstance(options.get("flexible"), bool):
            errors.append(message("invalid_location_flexible_type", flexible=options["flexible"]))
    for product, _legacy in PRODUCTS:
        if product not in manifest.locations:
            continue
        names = list(manifest.locations[product])
        unknown = [name for name in names if known_location(product, name) is None]
        unknown += [GATED_LOCATION] if product == "support" and GATED_LOCATION in names else []
        if unknown:
            errors.append(message("invalid_location", count=len(unknown), invalid_locations=join(unknown),
                                   host_name=product.capitalize()))
    known_hosts = {name for pair in PRODUCTS for name in pair}
    errors += [message("invalid_host", host_name=host) for host in manifest.used_hosts if host not in known_hosts]
    if truthy(manifest.framework_version) and gem_compare(manifest.framework_version) == -1:
        v2_only = [name for product, name, _ in manifest.location_options
                   if (loc := known_location(product, name)) is not None and loc[2]]
        if v2_only:
            errors.append(message("invalid_v1_location", count=len(v2_only), invalid_locations=join(v2_only)))
    legacy = [name for _, name, options in manifest.location_options
              if truthy(options.get("legacy")) or options.get("url") == "_legacy"]
    if manifest.iframe_only():
        if legacy:
            errors.append(message("locations_must_be_urls"))
    elif len(legacy) < len(manifest.location_options):
        errors.append(message("locations_cant_be_urls"))
    return errors


def _valid_location_uri(path: str, pkg: Package) -> bool:
    """manifest.rb invalid_location_uri_error: an https (or localhost) URL, or an asset in the package."""
    if path == "_legacy" or "{{setting." in path:
        return True
    if not rfc3986(path):
        return False
    parts = urlsplit(path)
    if parts.scheme:
        return parts.scheme.lower() == "https" or parts.hostname == "localhost"
    return parts.path.startswith("assets/") and pkg.has_file(parts.path)
