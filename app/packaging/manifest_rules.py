"""validations/manifest.rb: keys, types, oauth, default locale, URLs, then parameters and locations."""

from __future__ import annotations

import re

from app.packaging.location_rules import location_errors
from app.packaging.manifest import Manifest
from app.packaging.messages import message
from app.packaging.package import MANIFEST, Package
from app.packaging.parameter_rules import parameter_errors
from app.packaging.products import LOCATIONS
from app.packaging.ruby import ruby_class, truthy
from app.packaging.ruby_json import DuplicateKey
from app.packaging.translations import VALID_LOCALE
from app.packaging.urls import valid_http_url

SERVED_VERSIONS = ("2.0",)  # app_version.rb TO_BE_SERVED
OAUTH_REQUIRED_FIELDS = ("client_id", "client_secret", "authorize_uri", "access_token_uri")


def manifest_errors(pkg: Package) -> list[str]:
    """validations/manifest.rb Manifest.call."""
    if MANIFEST not in pkg.files:
        nested = next((f for f in pkg.files if re.fullmatch(r"[^/]+?/manifest\.json", f)), None)
        return [message("nested_manifest", found_path=nested)] if nested else [message("missing_manifest")]
    try:
        data = pkg.manifest_data
        if not isinstance(data, dict):
            # Ruby would crash reading fields off a non-object; it is no manifest either way.
            raise ValueError("the manifest must be a JSON object")
        manifest = Manifest(data)
    except DuplicateKey as duplicate:
        return [message("duplicate_manifest_keys", errors=duplicate.message())]
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return [message("manifest_not_json", errors=error)]
    errors = (_missing_keys(manifest) + _type_checks(manifest) + _oauth_errors(manifest)
              + _default_locale_errors(manifest, pkg) + _url_errors(manifest) + parameter_errors(manifest))
    if truthy(manifest.requirements_only) or truthy(manifest.marketing_only):
        if manifest.location_options:
            errors.append(message("no_location_required"))
        if manifest.framework_version is not None:
            errors.append(message("no_framework_version_required"))
    else:
        errors += location_errors(manifest, pkg)
        if manifest.framework_version is None:
            errors.append(message("manifest_keys.missing", count=1, missing_keys="frameworkVersion"))
        if manifest.framework_version not in SERVED_VERSIONS:
            errors.append(message("invalid_version", target_version=manifest.framework_version,
                                   available_versions=", ".join(SERVED_VERSIONS)))
    # noTemplate true, or a non-empty list of locations, is the old v1 switch.
    if manifest.iframe_only() and truthy(manifest.no_template) and manifest.no_template != []:
        errors.append(message("no_template_deprecated_in_v2",
                               link="https://developer.zendesk.com/apps/docs/apps-v2/manifest#location"))
    return errors


def _missing_keys(manifest: Manifest) -> list[str]:
    missing = [key for key in ("author", "defaultLocale") if manifest.data.get(key) is None]
    return [message("manifest_keys.missing", count=len(missing), missing_keys=", ".join(missing))] if missing else []


def _type_checks(manifest: Manifest) -> list[str]:
    errors = [message("unacceptable_boolean", field=field, value=value)
              for field, value in (("requirementsOnly", manifest.requirements_only),
                                   ("marketingOnly", manifest.marketing_only),
                                   ("singleInstall", manifest.single_install),
                                   ("signedUrls", manifest.signed_urls), ("private", manifest.private))
              if not isinstance(value, bool)]
    strings = [(field, manifest.data.get(key)) for field, key in (
        ("default_locale", "defaultLocale"), ("version", "version"), ("framework_version", "frameworkVersion"),
        ("remote_installation_url", "remoteInstallationURL"), ("terms_conditions_url", "termsConditionsURL"),
        ("google_analytics_code", "gaID"))]
    if isinstance(manifest.author, dict):
        strings += [(f"author {field}", manifest.author.get(field)) for field in ("name", "email", "url")]
    errors += [message("unacceptable_string", field=field, value=value)
               for field, value in strings if value is not None and not isinstance(value, str)]
    no_template = manifest.no_template
    if not isinstance(no_template, bool) and not (
            isinstance(no_template, list) and all(any(loc[1] == name for loc in LOCATIONS) for name in no_template)):
        errors.append(message("invalid_no_template"))
    if not isinstance(manifest.experiments, dict):
        errors.append(message("unacceptable_hash", field="experiments", value=ruby_class(manifest.experiments)))
    whitelist = manifest.data.get("domainWhitelist")
    if whitelist is not None and not (isinstance(whitelist, list) and all(isinstance(d, str) for d in whitelist)):
        errors.append(message("unacceptable_array_of_strings", field="domainWhitelist"))
    parameters = manifest.original_parameters
    if parameters is not None and not isinstance(parameters, list):
        errors.append(message("unacceptable_array", field="parameters", value=ruby_class(parameters)))
    return errors


def _oauth_errors(manifest: Manifest) -> list[str]:
    if not truthy(manifest.oauth):
        return []
    oauth = manifest.oauth if isinstance(manifest.oauth, dict) else {}
    missing = [key for key in OAUTH_REQUIRED_FIELDS if oauth.get(key) is None or oauth.get(key) in ("", [], {})]
    errors = [message("oauth_keys.missing", count=len(missing), missing_keys=", ".join(missing))] if missing else []
    if not any(p.type == "oauth" for p in manifest.parameters):
        errors.append(message("oauth_parameter_required",
                               link="https://developer.zendesk.com/apps/docs/developer-guide/manifest#oauth"))
    return errors


def _default_locale_errors(manifest: Manifest, pkg: Package) -> list[str]:
    locale = manifest.default_locale
    if locale is None:
        return []
    if not isinstance(locale, str) or not VALID_LOCALE.search(locale):
        return [message("invalid_default_locale", default_locale=locale)]
    if f"translations/{locale}.json" not in pkg.files:
        return [message("missing_translation_file", default_locale=locale)]
    return []


def _url_errors(manifest: Manifest) -> list[str]:
    checks = [("terms_conditions_url", manifest.data.get("termsConditionsURL"))]
    if isinstance(manifest.author, dict):
        checks.append(("author url", manifest.author.get("url")))
    # Ruby truthiness: "" is checked (and fails), only nil and false are skipped.
    return [message("invalid_url", field=field, value=value)
            for field, value in checks if truthy(value) and not valid_http_url(value)]
