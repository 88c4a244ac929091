"""Blueprint: POST /webhooks/zendesk — the thin Flask edge of the receiver."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.intake.receiver import WebhookRequest

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/zendesk")
def zendesk():
    receiver = current_app.extensions["outage_desk.receiver"]
    receipt = receiver.receive(WebhookRequest(request.get_data(cache=False), request.headers))
    return jsonify(receipt.body), receipt.status
