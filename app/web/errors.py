"""The one mapping from our errors to HTTP responses: a status and a reason, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import OutageDeskError

log = logging.getLogger(__name__)


class QuietPathFlask(Flask):
    """Flask whose log line of an unexpected error names the endpoint, not the path: the status page webhook's
    path is its secret token."""

    def log_exception(self, exc_info) -> None:
        log.error("web.unexpected", extra={"endpoint": request.endpoint, "method": request.method}, exc_info=exc_info)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(OutageDeskError)
    def _ours(error: OutageDeskError):
        if error.http_status >= 500:
            log.error("web.error", extra={"error": type(error).__name__})
        else:
            log.info("web.refused", extra={"error": type(error).__name__, "reason": str(error)})
        return jsonify(error=str(error), **error.details()), error.http_status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return jsonify(error=error.description), error.code
