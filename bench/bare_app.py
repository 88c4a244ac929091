"""A Flask app whose webhook endpoint does nothing: the yardstick the real intake is compared with.

`python -m bench.bare_app --bind HOST:PORT --workers N` serves it under `outage-desk serve`'s gunicorn
settings, so the two differ by the app alone.
"""

from __future__ import annotations

import argparse

from flask import Flask

from app.web_server import ServerSettings, serve_wsgi


def create_app() -> Flask:
    """POST /webhooks/zendesk answers 200 with a small JSON body, as the real one does, and that is all."""
    app = Flask(__name__)

    @app.post("/webhooks/zendesk")
    def zendesk() -> tuple[dict, int]:
        return {"status": "ok"}, 200

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args()
    serve_wsgi(ServerSettings(bind=args.bind, workers=args.workers), create_app)


if __name__ == "__main__":
    main()
