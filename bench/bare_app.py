"""A Flask app whose webhook endpoint does nothing: the yardstick the real intake is compared with."""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """POST /webhooks/zendesk answers 200 with a small JSON body, as the real one does, and that is all."""
    app = Flask(__name__)

    @app.post("/webhooks/zendesk")
    def zendesk() -> tuple[dict, int]:
        return {"status": "ok"}, 200

    return app
