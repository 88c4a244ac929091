"""The gem's error messages (config/locales/en.yml), interpolated as Ruby would."""

from __future__ import annotations

from typing import Any

from app.packaging.ruby import rb

MESSAGES: dict[str, str | tuple[str, str]] = {
    "missing_manifest": "Could not find manifest.json",
    "nested_manifest": "Could not find manifest.json in the root of the zip file, but {found_path} was found. "
                       "Try re-creating the archive from this directory.",
    "manifest_not_json": "manifest is not proper JSON. {errors}",
    "duplicate_manifest_keys": "Duplicate keys are specified in the manifest.json file. {errors}",
    "manifest_keys.missing": ("Missing required field in manifest: {missing_keys}",
                              "Missing required fields in manifest: {missing_keys}"),
    "unacceptable_boolean": '{field} must be a boolean value, got "{value}".',
    "unacceptable_string": '{field} must be a string, got "{value}".',
    "unacceptable_hash": "The manifest field {field} needs to be key-value pairs with string keys, but it was {value}",
    "unacceptable_array": "The manifest field {field} needs to be an array, but it was {value}",
    "unacceptable_array_of_strings": "The manifest field {field} need to be an array containing strings",
    "invalid_no_template": "noTemplate must be set to true, false, or an array of valid locations.",
    "oauth_keys.missing": ("Missing required oauth field in manifest: {missing_keys}",
                           "Missing required oauth fields in manifest: {missing_keys}"),
    "oauth_parameter_required": "Missing parameter of type 'oauth'. Learn about oauth property in manifest: {link}",
    "invalid_default_locale": "{default_locale} is not a valid default locale.",
    "missing_translation_file": "Missing translation file for locale '{default_locale}'. Learn more: "
                                "https://developer.zendesk.com/apps/docs/developer-guide/deploying"
                                "#app-internationalization",
    "invalid_url": '{field} must be a valid URL, got "{value}".',
    "parameters_not_an_array": "App parameters must be an array.",
    "duplicate_parameters": "Duplicate app parameters defined: {duplicate_parameters}",
    "invalid_hidden_parameter": ("{invalid_params} is set to hidden and cannot be required.",
                                 "{invalid_params} are set to hidden and cannot be required."),
    "invalid_type_parameter": ("{invalid_types} is an invalid parameter type.",
                               "{invalid_types} are invalid parameter types."),
    "too_many_oauth_parameters": "Too many parameters with type 'oauth': one permitted",
    "oauth_parameter_cannot_be_secure": "oauth parameter cannot be set to be secure.",
    "name_as_parameter_name": "Can't call a parameter 'name'",
    "field_requires_secure_parameter": "{field} cannot be defined in a non-secure parameter.",
    "field_cannot_be_empty": "{field} cannot be empty.",
    "field_contains_invalid_values": "{field} contains invalid values: {values}.",
    "no_parameters_required": "Parameters can't be defined for marketing-only apps",
    "marketing_only_app_cant_be_private": "Marketing-only apps must not be private",
    "no_location_required": "Locations can't be defined when you specify requirements only",
    "no_framework_version_required": "Framework versions can't be set when you specify requirements only",
    "blank_location_uri": "{location} location does not specify a URI.",
    "invalid_location_uri": "{uri} is either an invalid location URI, refers to a missing asset, "
                            "or does not use HTTPS.",
    "invalid_location_flexible_type": "{flexible} is an invalid type for the flexible location parameter.",
    "invalid_location": ("{invalid_locations} is an invalid location in {host_name}.",
                         "{invalid_locations} are invalid locations in {host_name}."),
    "invalid_host": "{host_name} is an invalid host for apps.",
    "invalid_v1_location": ("{invalid_locations} is an invalid location in framework v1.",
                            "{invalid_locations} are invalid locations in framework v1."),
    "locations_must_be_urls": "App locations need to be URLs for this framework version.",
    "locations_cant_be_urls": "App locations must not be URLs for this framework version.",
    "invalid_version": "{target_version} is not a valid framework version. Available versions are: "
                       "{available_versions}.",
    "no_template_deprecated_in_v2": "noTemplate is deprecated and cannot be used with framework version 2 or above. "
                                    "Set the autoLoad or autoHide property for each specific location instead. "
                                    "Learn more: {link}.",
    "symlink_in_zip": "Symlinks are not allowed in the zip file",
    "invalid_experiment": "Manifest specifies unknown or unavailable experiment: {experiment}",
    "no_source_required_apps": "Javascripts, stylesheets, and templates are not required for marketingOnly "
                               "or requirementsOnly apps",
    "missing_requirements": "Could not find requirements.json",
    "translation.invalid_locale": "{file} is not a valid locale.",
    "translation.invalid_format": "{field} is invalid for translation.",
    "translation.not_json": "{file} is not valid JSON. {errors}",
    "translation.not_json_object": "{file} is not a JSON object.",
    "translation.missing_required_key": "Missing required key from {file}: {missing_key}",
    "translation.missing_required_key_on_leaf": "Missing required key {missing_key} on leaf {leaf} from {file}",
    "translation.missing_required_key_for_product": "Missing required key from {file} for {product}: {missing_key}",
    "translation.products_do_not_match_manifest_products": "Products in manifest ({manifest_products}) do not match "
                                                           "products in translations ({translation_products})",
    "banner.invalid_format": "Banner image must be a PNG file.",
    "banner.invalid_size": "Invalid banner image dimensions. Must be {required_banner_width}x"
                           "{required_banner_height}px.",
    "unsupported_mime_type_detected": ("Unsupported MIME type detected in {file_names}.",
                                       "Unsupported MIME types detected in {file_names}."),
}


def message(key: str, count: int | None = None, **data: Any) -> str:
    """The en.yml text for ``key`` (its plural unless ``count`` is 1), ``data`` interpolated as Ruby would."""
    template = MESSAGES[key]
    if isinstance(template, tuple):
        template = template[0] if count == 1 else template[1]
    return template.format(**{name: rb(value) for name, value in data.items()})


def join(values: list[Any]) -> str:
    """Ruby's ``values.join(", ")``."""
    return ", ".join(rb(value) for value in values)
