"""manifest.rb's checks on the app parameters (manifest/parameter.rb)."""

from __future__ import annotations

from typing import Any

from app.packaging.manifest import Manifest
from app.packaging.messages import join, message
from app.packaging.ruby import rb, ruby_class, truthy

PARAMETER_TYPES = ("text", "checkbox", "url", "number", "multiline", "hidden", "oauth")  # mtls is gated off
SECURE_PARAM_SCOPES = ("header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username",
                       "basic_auth_password")


def parameter_errors(manifest: Manifest) -> list[str]:
    if truthy(manifest.marketing_only):
        return ([message("no_parameters_required")] if manifest.parameters else []) + \
            ([message("marketing_only_app_cant_be_private")] if truthy(manifest.private) else [])
    params = manifest.parameters
    errors = _parameter_shape_errors(manifest)
    hidden = [p.name for p in params if p.type == "hidden" and truthy(p.required)]
    if hidden:
        errors.append(message("invalid_hidden_parameter", count=len(hidden), invalid_params=join(hidden)))
    invalid_types = [p.type for p in params if p.type not in PARAMETER_TYPES]
    if invalid_types:
        errors.append(message("invalid_type_parameter", count=len(invalid_types), invalid_types=join(invalid_types)))
    if sum(p.type == "oauth" for p in params) > 1:
        errors.append(message("too_many_oauth_parameters"))
    if any(p.type == "oauth" and truthy(p.secure) for p in params):
        errors.append(message("oauth_parameter_cannot_be_secure"))
    if any(p.name == "name" for p in params):
        errors.append(message("name_as_parameter_name"))
    for p in params:
        if p.scopes is None:
            continue
        field = f'parameters[name="{rb(p.name)}"].scopes'
        if not truthy(p.secure):
            errors.append(message("field_requires_secure_parameter", field=field))
        if not isinstance(p.scopes, list):
            errors.append(message("unacceptable_array", field=field, value=ruby_class(p.scopes)))
            continue
        if not p.scopes:
            errors.append(message("field_cannot_be_empty", field=field))
        invalid = [scope for scope in p.scopes if scope not in SECURE_PARAM_SCOPES]
        if invalid:
            errors.append(message("field_contains_invalid_values", field=field, values=join(invalid)))
    return errors


def _parameter_shape_errors(manifest: Manifest) -> list[str]:
    """manifest.rb parameters_error: it stops at the first kind of problem it finds."""
    if manifest.original_parameters is not None and not isinstance(manifest.original_parameters, list):
        return [message("parameters_not_an_array")]
    names = [p.name for p in manifest.parameters]
    duplicates: list[Any] = []
    for name in names:  # names may be any JSON value, hashable or not
        if names.count(name) > 1 and name not in duplicates:
            duplicates.append(name)
    if duplicates:
        return [message("duplicate_parameters", duplicate_parameters=duplicates)]
    for attribute in ("required", "secure"):
        invalid = [message("unacceptable_boolean", field=f'parameters[name="{rb(p.name)}"].{attribute}',
                            value=getattr(p, attribute))
                   for p in manifest.parameters if not isinstance(getattr(p, attribute), bool)]
        if invalid:
            return invalid
    return []
