"""The Flask app factory."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

from app.clock import Clock, SystemClock
from app.config import Config, load_config
from app.errors import ConfigError
from app.incident.service import OutageDesk
from app.incident.status_components import ComponentMap
from app.intake.receiver import WebhookReceiver
from app.intake.status_receiver import StatusWebhookReceiver
from app.intake.status_token import StatusToken
from app.intake.roles import RoleCache
from app.intake.session import SidebarSession
from app.intake.signature import ZendeskSignature
from app.intake.zaf_jwt import AppKey, ZafSignedUrl
from app.store.db import make_engine, make_session_factory
from app.store.secrets import SecretBox
from app.store.settings import STATUS_WEBHOOK_TOKEN, WEBHOOK_SIGNING_SECRET, load_secret
from app.web.errors import QuietPathFlask
from app.wiring import build_gateway


def create_app(config: Config | None = None, clock: Clock | None = None) -> Flask:
    """Build the web app; only this reads the environment, and only when no config is given."""
    config = config or load_config()
    # Required even with the webhook secret in the environment: the sidebar's sessions are signed with a subkey.
    box = SecretBox(config.outage_desk_secret_key)
    clock = clock or SystemClock()
    app = QuietPathFlask(__name__)
    # Werkzeug refuses larger bodies with 413 before our code reads them.
    app.config["MAX_CONTENT_LENGTH"] = config.outage_desk_max_webhook_bytes
    engine = make_engine(config.database_url)
    sessions = make_session_factory(engine)
    secret = config.zendesk_webhook_secret or load_secret(sessions, box, WEBHOOK_SIGNING_SECRET)
    if not secret:
        raise ConfigError("ZENDESK_WEBHOOK_SECRET", "is not set, and `outage-desk setup` has stored none")
    app.extensions["outage_desk.sessions"] = sessions
    app.extensions["outage_desk.clock"] = clock
    app.extensions["outage_desk.receiver"] = WebhookReceiver(
        ZendeskSignature(secret, clock), engine, clock, config.outage_desk_max_webhook_bytes)
    # Read once, like the signing secret: `outage-desk status-webhook --rotate` takes effect at the next start.
    app.extensions["outage_desk.status_receiver"] = StatusWebhookReceiver(
        StatusToken(load_secret(sessions, box, STATUS_WEBHOOK_TOKEN)),
        ComponentMap.from_json(config.outage_desk_status_components), engine, clock, config.outage_desk_max_webhook_bytes)
    _wire_sidebar(app, config, sessions, clock, box)

    from app.intake.webhooks import bp as webhooks_bp
    from app.web.api import bp as api_bp
    from app.web.errors import register_error_handlers
    from app.web.ops import bp as ops_bp
    from app.web.sidebar import bp as sidebar_bp

    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(sidebar_bp)
    register_error_handlers(app)
    return app


def _wire_sidebar(app: Flask, config: Config, sessions, clock: Clock, box: SecretBox) -> None:
    """The sidebar needs Zendesk (who is calling, their role) and the app's id (whose key vouches);
    without them the webhooks still work and the sidebar answers what is missing."""
    problems = {}
    try:
        config.require_zendesk()
    except ConfigError as missing:
        problems.update(missing.problems)
    if config.outage_desk_app_id is None:
        problems["OUTAGE_DESK_APP_ID"] = "is not set (the uploaded app's id)"
    if problems:
        app.extensions["outage_desk.sidebar_missing"] = problems
        return
    # One attempt per call: an agent waiting on the sidebar must not wait out Zendesk's retries.
    gateway = build_gateway(config, clock, patient=False)
    account = urlsplit(config.zendesk_base_url).netloc
    app.extensions["outage_desk.desk"] = OutageDesk(config, sessions, gateway, clock)
    app.extensions["outage_desk.roles"] = RoleCache(gateway, clock)
    app.extensions["outage_desk.zaf"] = ZafSignedUrl(AppKey(gateway, clock, config.outage_desk_app_id), account,
                                                     config.zendesk_base_url, clock)
    app.extensions["outage_desk.sidebar_session"] = SidebarSession(box.subkey("sidebar-session"), account, clock)
