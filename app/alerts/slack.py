"""Slack alerts through an incoming webhook (slack-sdk): the runbook's "alert on Slack".

An alert that cannot be sent is logged, never raised: telling Slack must not stop the
outage work that triggered it.
"""

from __future__ import annotations

import logging

from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


def escape(text: str) -> str:
    """Text people wrote (subjects, titles) is shown as text: Slack must not act on `<!channel>` or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackAlerts:
    """Posts to the team's channel; without a webhook URL, alerts only go to the log."""

    def __init__(self, webhook_url: str | None, mentions: str):
        self._client = WebhookClient(webhook_url, timeout=TIMEOUT_SECONDS) if webhook_url else None
        self._mentions = mentions

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def send(self, text: str, mention: bool = False) -> bool:
        """Post `text` (Slack mrkdwn), calling on the referents first if `mention`; whether Slack took it."""
        message = f"{self._mentions} {text}" if mention and self._mentions else text
        if self._client is None:
            return False
        try:
            response = self._client.send(text=message, unfurl_links=False)
        except OSError as error:
            log.warning("alerts.slack-unreachable", extra={"error": type(error).__name__})
            return False
        if response.status_code != 200:
            log.warning("alerts.slack-refused", extra={"status": response.status_code, "body": response.body[:200]})
            return False
        return True
