"""The Flask app factory."""

from __future__ import annotations

from flask import Flask

from app.clock import Clock, SystemClock
from app.config import Config, load_config
from app.intake.receiver import WebhookReceiver
from app.intake.signature import ZendeskSignature
from app.store.db import make_engine, make_session_factory


def create_app(config: Config | None = None, clock: Clock | None = None) -> Flask:
    """Build the web app; only this reads the environment, and only when no config is given."""
    config = config or load_config()
    config.require("zendesk_webhook_secret")
    clock = clock or SystemClock()
    app = Flask(__name__)
    # Werkzeug refuses larger bodies with 413 before our code reads them.
    app.config["MAX_CONTENT_LENGTH"] = config.outage_desk_max_webhook_bytes
    sessions = make_session_factory(make_engine(config.database_url))
    app.extensions["outage_desk.sessions"] = sessions
    app.extensions["outage_desk.receiver"] = WebhookReceiver(
        ZendeskSignature(config.zendesk_webhook_secret, clock), sessions, clock, config.outage_desk_max_webhook_bytes)

    from app.intake.webhooks import bp as webhooks_bp
    from app.web.errors import register_error_handlers
    from app.web.ops import bp as ops_bp

    app.register_blueprint(webhooks_bp)
    app.register_blueprint(ops_bp)
    register_error_handlers(app)
    return app
