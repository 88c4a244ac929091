"""Blueprint: POST /webhooks/zendesk and POST /webhooks/status/<token> — the thin Flask edges of the receivers."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.intake.receiver import WebhookRequest

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/zendesk")
def zendesk():
    receiver = current_app.extensions["outage_desk.receiver"]
    receipt = receiver.receive(WebhookRequest(request.get_data(cache=False), request.headers))
    return jsonify(receipt.body), receipt.status


@bp.post("/webhooks/status/<token>")
def status_page(token: str):
    """The status page's incident webhook; the path carries its secret token (Statuspage signs nothing)."""
    receiver = current_app.extensions["outage_desk.status_receiver"]
    receipt = receiver.receive(token, request.get_data(cache=False))
    return jsonify(receipt.body), receipt.status


@bp.post("/webhooks/status")
def status_page_without_token():
    """A delivery without the token: refused as a wrong one is."""
    return status_page("")
