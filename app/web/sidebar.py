"""Blueprint "sidebar": the pages Zendesk loads in the app's locations, POSTed with Zendesk's signed token.

The manifest's `signedUrls` makes Zendesk POST its RS256 token naming the agent; once verified,
and the agent's role read from Zendesk, the page carries a session of ours for the page's calls.
The ticket sidebar (/sidebar) and the nav bar's incidents page (/incidents) open the same way.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from app.errors import PermissionDenied
from app.intake.session import LIFETIME_SECONDS
from app.web.callers import AGENT_ROLES, require_sidebar

bp = Blueprint("sidebar", __name__, static_folder="static", static_url_path="/sidebar/assets",
               template_folder="templates")


@bp.post("/sidebar")
def page():
    return _vouched_page("sidebar.html")


@bp.post("/incidents")
def incidents_page():
    """The nav bar's page: every incident; Zendesk's token is verified as the sidebar's (its location
    claim is not read, so either location opens either page only as the agent Zendesk names)."""
    return _vouched_page("incidents.html")


def _vouched_page(template: str):
    require_sidebar()
    identity = current_app.extensions["outage_desk.zaf"].verify(request.form.get("token"))
    if current_app.extensions["outage_desk.roles"].role_of(identity.user_id) not in AGENT_ROLES:
        raise PermissionDenied("only agents can use Outage Desk")
    session = current_app.extensions["outage_desk.sidebar_session"].issue(identity)
    response = current_app.make_response(render_template(template, session=session,
                                                         expires_in=LIFETIME_SECONDS))
    # The page holds a session: never cached, never leaked in a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self' https://static.zdassets.com; "
        "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'")
    return response
