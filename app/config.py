"""Configuration, read once from the environment (and a `.env` file) into a typed object."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from dotenv import dotenv_values

from app.errors import ConfigError

DEFAULT_CR_VALUE = "Technical Issue::TI/Status Wavy"
NOT_SET = "is not set"


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
    # At most one interim update per incident this often: customers hear news, not noise.
    outage_desk_update_interval_minutes: int = 30
    # Who a suspected outage calls on in Slack: the production and product referents' <@U…> ids.
    outage_desk_slack_mentions: str = "<!here>"
    # Voice: while an incident is declared, the worker reads Talk's queue this often.
    outage_desk_voice_poll_seconds: int = 30
    # More callers waiting than this: one Slack alert to shut down routing per crossing, re-armed only once
    # the queue is back to this minus the margin or fewer (a queue wavering around 5 alerts once).
    outage_desk_voice_alert_calls: int = 5
    outage_desk_voice_alert_margin: int = 2
    # More callers waiting than this: every phone line plays the outage greeting until the resolution.
    outage_desk_voice_greeting_calls: int = 100
    outage_desk_max_webhook_bytes: int = 64 * 1024
    # The status page's components Outage Desk acts on, as JSON: {"API": {"tag": "api_down", "query": "API"}}.
    outage_desk_status_components: str | None = None
    # What the status page's "resolved" does: "auto" starts the resolve, "confirm" waits for an admin or the referent.
    outage_desk_status_resolve: str = "auto"
    # The most one Zendesk request may take, from connecting to the last byte of the answer.
    zendesk_timeout_seconds: int = 60
    # Agent settings while an outage is declared. The Chat API takes only a token from a Chat OAuth client
    # (not Support's credentials): without one, chats per agent goes on the admins' checklist instead.
    outage_desk_chat_oauth_token: str | None = None
    outage_desk_outage_chats_per_agent: int = 5
    outage_desk_usual_chats_per_agent: int = 2  # what the checklist says to set back when it has no previous value
    # Talk's wrap-up time has no public API: the checklist names these values.
    outage_desk_outage_wrap_up_seconds: int = 30
    outage_desk_usual_wrap_up_seconds: int = 120
    # Aftercare: how many weeks after an outage's end its requesters' and organisations' new tickets are raised.
    outage_desk_aftercare_weeks: int = 4

    # First-response SLA by plan (app/incident/sla_plans.py): the organisations' plan tags, or the
    # organisation drop-down field whose option tags they are, and the plan of tickets with neither.
    outage_desk_plan_tags: str = "basic=plan_basic regular=plan_regular premium=plan_premium"
    outage_desk_plan_field: str | None = None
    outage_desk_default_plan: str = "basic"
    # The shape of the desk's own API keys (a regular expression), redacted when a customer posts one.
    outage_desk_api_key_pattern: str | None = None

    @staticmethod
    def env_name(field_name: str) -> str:
        return field_name.upper()

    def require(self, *names: str) -> None:
        """:raises ConfigError: naming every one of these settings that is missing."""
        problems = self.missing(names)
        if problems:
            raise ConfigError(problems)

    def require_zendesk(self) -> None:
        """Check what every Zendesk call needs: where, and who.

        :raises ConfigError: naming everything missing at once.
        """
        problems = self.zendesk_missing()
        if problems:
            raise ConfigError(problems)

    def missing(self, names: Iterable[str]) -> dict[str, str]:
        """These settings (by field name) that are not set, by variable."""
        return {self.env_name(name): NOT_SET for name in names if not getattr(self, name)}

    def zendesk_missing(self) -> dict[str, str]:
        """What every Zendesk call needs and is not set: where, and who (an API token, or an OAuth one)."""
        problems = {}
        if not (self.zendesk_subdomain or self.zendesk_url):
            problems["ZENDESK_SUBDOMAIN (or ZENDESK_URL)"] = NOT_SET
        if not self.zendesk_oauth_token:
            problems.update(self.missing(["zendesk_email"]))
            if not self.zendesk_api_token:
                problems["ZENDESK_API_TOKEN (or ZENDESK_OAUTH_TOKEN instead of the email and token)"] = NOT_SET
        return problems

    def wrong(self) -> dict[str, str]:
        """The settings whose value cannot work, whatever the command."""
        # Here, not at the top: it loads SQLAlchemy and Alembic, which `--help` and `package` do without.
        from app.incident.sla_plans import plan_config_problems
        from app.incident.status_components import status_page_problems
        from app.store.db import database_url_problem

        problems = {}
        if self.zendesk_url and not self.zendesk_url.startswith(("http://", "https://")):
            problems["ZENDESK_URL"] = "must start with http:// or https://"
        if self.zendesk_timeout_seconds < 1:
            problems["ZENDESK_TIMEOUT_SECONDS"] = "must be at least 1"
        problems.update(status_page_problems(self))
        problems.update(plan_config_problems(self))
        if self.outage_desk_voice_poll_seconds < 1:
            problems["OUTAGE_DESK_VOICE_POLL_SECONDS"] = "must be at least 1"
        if self.outage_desk_voice_alert_margin < 0 or self.outage_desk_voice_alert_calls < 0:
            problems["OUTAGE_DESK_VOICE_ALERT_CALLS and OUTAGE_DESK_VOICE_ALERT_MARGIN"] = "must not be negative"
        elif self.outage_desk_voice_alert_margin > self.outage_desk_voice_alert_calls:
            # The alert re-arms at calls - margin callers waiting: below zero, never again.
            problems["OUTAGE_DESK_VOICE_ALERT_MARGIN"] = "must not be more than OUTAGE_DESK_VOICE_ALERT_CALLS"
        if self.outage_desk_aftercare_weeks < 0:
            problems["OUTAGE_DESK_AFTERCARE_WEEKS"] = "must not be negative"
        if self.outage_desk_api_key_pattern:
            try:
                re.compile(self.outage_desk_api_key_pattern)
            except re.error as error:
                problems["OUTAGE_DESK_API_KEY_PATTERN"] = f"is not a regular expression: {error}"
        if self.outage_desk_voice_greeting_calls < 0:
            problems["OUTAGE_DESK_VOICE_GREETING_CALLS"] = "must not be negative"
        # The Chat API's chat_limit.limit takes 0 to 20: another value would be refused at every outage.
        for name in ("outage_desk_outage_chats_per_agent", "outage_desk_usual_chats_per_agent"):
            if not 0 <= getattr(self, name) <= 20:
                problems[name.upper()] = "must be from 0 to 20 (Zendesk Chat's limit)"
        for name in ("outage_desk_outage_wrap_up_seconds", "outage_desk_usual_wrap_up_seconds"):
            if getattr(self, name) < 0:
                problems[name.upper()] = "must not be negative"
        database = database_url_problem(self.database_url)
        if database:
            problems["DATABASE_URL"] = database
        return problems

    @property
    def zendesk_base_url(self) -> str:
        """The URL every API call goes to: the override, or the account's own."""
        if self.zendesk_url:
            return self.zendesk_url.rstrip("/")
        return f"https://{self.zendesk_subdomain}.zendesk.com"

    def with_overrides(self, **overrides) -> Config:
        """A copy with CLI flags applied over the environment; `None` means not given."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_config(environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env",
                overrides: Mapping[str, object] | None = None, zendesk: bool = False,
                required: Iterable[str] = ()) -> Config:
    """Build the Config from a `.env` file overlaid by the environment, then by `overrides` (CLI flags,
    by field name; `None` means not given), and check it for what the caller needs.

    :param zendesk: the caller calls Zendesk: its settings must be there.
    :param required: other fields the caller needs set.
    :raises ConfigError: naming at once every value that cannot work and everything needed that is missing.
    """
    values: dict[str, str | None] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        values.update(dotenv_values(dotenv_path))
    values.update(os.environ if environ is None else environ)
    settings, problems = {}, {}
    for field in fields(Config):
        raw = values.get(Config.env_name(field.name))
        if raw is None or raw == "":
            continue
        if field.type in ("int", "int | None"):
            try:
                settings[field.name] = int(raw)
            except ValueError:
                problems[Config.env_name(field.name)] = "must be a whole number"
        else:
            settings[field.name] = raw.strip()
    config = Config(**settings).with_overrides(**(overrides or {}))
    problems.update(config.wrong())
    problems.update(config.zendesk_missing() if zendesk else {})
    problems.update(config.missing(required))
    if problems:
        raise ConfigError(problems)
    return config
