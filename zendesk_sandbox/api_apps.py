"""Apps API: owned apps, an app's public key, installations (see zendesk_sandbox.apps for the sources)."""

from __future__ import annotations

from flask import Blueprint, Response

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, json_body, not_found
from zendesk_sandbox.guard import admin_only

bp = Blueprint("api_apps", __name__)


@bp.get("/api/v2/apps/owned")
@admin_only
def owned():
    """The account's own (private) apps."""
    return {"apps": list(current().apps.apps.values())}


@bp.get("/api/v2/apps/<int:app_id>/public_key.pem")
def public_key(app_id: int):
    """Get App Public Key: the PEM text, for everyone (no authentication)."""
    apps = current().apps
    if app_id not in apps.apps:
        raise not_found()
    return Response(apps.public_key_pem(app_id), mimetype="application/x-pem-file")


@bp.post("/api/v2/apps/installations")
@admin_only
def install():
    """Install App: {"app_id": …, "settings": {"name": …, …}}; `settings.name` is required."""
    body = json_body()
    apps = current().apps
    app_id = body.get("app_id")
    settings = body.get("settings")
    if isinstance(app_id, bool) or not isinstance(app_id, int) or app_id not in apps.apps:
        raise ApiError(400, "InvalidValue", "app_id does not name an app of this account")
    if not isinstance(settings, dict) or not settings.get("name"):
        raise ApiError(400, "InvalidValue", "settings.name is required")
    return apps.install(app_id, settings, current().now()), 201


@bp.get("/api/v2/apps/installations")
def installations():
    """List App Installations."""
    return {"installations": list(current().apps.installations.values())}


@bp.get("/api/v2/apps/installations/<int:installation_id>")
def installation(installation_id: int):
    """Show App Installation: the installation object itself, not wrapped."""
    found = current().apps.installations.get(installation_id)
    if found is None:
        raise not_found()
    return found
