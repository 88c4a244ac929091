"""Configuration, read once from the environment (and a `.env` file) into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from dotenv import dotenv_values

from app.errors import ConfigError

DEFAULT_CR_VALUE = "Technical Issue::TI/Status Wavy"


@dataclass(frozen=True)
class Config:
    """Every setting Outage Desk reads; each field maps to one environment variable."""

    zendesk_subdomain: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: str | None = None
    zendesk_oauth_token: str | None = None
    zendesk_url: str | None = None
    zendesk_webhook_secret: str | None = None
    # A Fernet key (`outage-desk keygen`): encrypts the secrets in the store, and keys the sidebar's sessions.
    outage_desk_secret_key: str | None = None
    # The Zendesk app id of the uploaded Outage Desk app: when set, the sidebar refuses any other app's token.
    outage_desk_app_id: int | None = None
    database_url: str = "sqlite:///outage-desk.db"
    slack_webhook_url: str | None = None
    outage_desk_cr_field: str = "Contact reason"
    outage_desk_impact_field: str = "Business impact"
    outage_desk_closing_macro: str = "Outage Desk closing"
    outage_desk_ack_macro: str = "Outage Desk acknowledgement"
    outage_desk_referent: str | None = None
    outage_desk_default_language: str = "en"
    # Requester or ticket tag of customers in trial or onboarding: their outage tickets go one level up.
    outage_desk_new_customer_tag: str = "new_customer"
    # Detection: this many new tickets on one subject within the window make a suspected outage.
    outage_desk_detect_threshold: int = 5
    outage_desk_detect_window_minutes: int = 30
    # Who a suspected outage calls on in Slack: the production and product referents' <@U…> ids.
    outage_desk_slack_mentions: str = "<!here>"
    outage_desk_max_webhook_bytes: int = 64 * 1024
    # The most one Zendesk request may take, from connecting to the last byte of the answer.
    zendesk_timeout_seconds: int = 60

    @staticmethod
    def env_name(field_name: str) -> str:
        return field_name.upper()

    def require(self, *names: str) -> None:
        """:raises ConfigError: naming the first variable that is missing."""
        for name in names:
            if not getattr(self, name):
                raise ConfigError(self.env_name(name))

    def require_zendesk(self) -> None:
        """Check what every Zendesk call needs: where, and who."""
        if not (self.zendesk_subdomain or self.zendesk_url):
            raise ConfigError("ZENDESK_SUBDOMAIN")
        if not self.zendesk_oauth_token:
            self.require("zendesk_email", "zendesk_api_token")

    @property
    def zendesk_base_url(self) -> str:
        """The URL every API call goes to: the override, or the account's own."""
        if self.zendesk_url:
            return self.zendesk_url.rstrip("/")
        return f"https://{self.zendesk_subdomain}.zendesk.com"

    def with_overrides(self, **overrides) -> Config:
        """A copy with CLI flags applied over the environment; `None` means not given."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_config(environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env") -> Config:
    """Build the Config from a `.env` file overlaid by the environment.

    :raises ConfigError: a value of the wrong shape.
    """
    values: dict[str, str | None] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        values.update(dotenv_values(dotenv_path))
    values.update(os.environ if environ is None else environ)
    settings = {}
    for field in fields(Config):
        raw = values.get(Config.env_name(field.name))
        if raw is None or raw == "":
            continue
        if field.type in ("int", "int | None"):
            try:
                settings[field.name] = int(raw)
            except ValueError:
                raise ConfigError(Config.env_name(field.name), "must be a whole number") from None
        else:
            settings[field.name] = raw.strip()
    config = Config(**settings)
    if config.zendesk_url and not config.zendesk_url.startswith(("http://", "https://")):
        raise ConfigError("ZENDESK_URL", "must start with http:// or https://")
    if config.zendesk_timeout_seconds < 1:
        raise ConfigError("ZENDESK_TIMEOUT_SECONDS", "must be at least 1")
    return config
