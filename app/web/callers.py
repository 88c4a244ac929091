"""Who is calling the sidebar's page and API: only what Zendesk vouched for, checked at the edge."""

from __future__ import annotations

from flask import current_app, g, request

from app.errors import ConfigError, InputError, PermissionDenied, ZendeskError

AGENT_ROLES = ("agent", "admin")


def require_sidebar() -> None:
    """:raises ConfigError: the service was started without what the sidebar needs."""
    missing = current_app.extensions.get("outage_desk.sidebar_missing")
    if missing:
        raise ConfigError(missing)


def verify_session() -> None:
    """A valid session of ours, then the caller's role as Zendesk says it now (cached briefly)."""
    require_sidebar()
    user = current_app.extensions["outage_desk.sidebar_session"].verify(request.headers.get("Authorization"))
    role = current_app.extensions["outage_desk.roles"].role_of(user.user_id)
    if role not in AGENT_ROLES:
        raise PermissionDenied("only agents can use Outage Desk")
    g.sidebar_user, g.user_id, g.role = user, user.user_id, role


def is_referent(desk, user_id: int) -> bool:
    """Whether the verified caller is OUTAGE_DESK_REFERENT (an id, or an email Zendesk resolves once)."""
    referent = desk.config.outage_desk_referent
    if not referent:
        return False
    if referent.isdigit():
        return int(referent) == user_id
    try:
        referent = desk.referent
    except (InputError, ZendeskError):
        # No such user, or Zendesk did not answer (asked again a minute on): nobody is the referent for now.
        return False
    return referent is not None and referent.id == user_id
