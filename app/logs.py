"""One log format for every process: the event, then its `extra` fields as logfmt key=value pairs.

logfmt rather than JSON lines: an operator reads these in a terminal or `journalctl` as often as a
log shipper parses them, and `incident.take-in-failed ticket=123 reason="ClosedTicket: closed"` reads
as a sentence while staying one machine-parseable line (Loki, Grafana, Heroku and `lnav` read logfmt).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone

# Attributes every LogRecord has: anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_BARE = re.compile(r"[^\s\"=\\]+")  # values that need no quotes


def _value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(str(item) for item in (sorted(value) if isinstance(value, (set, frozenset)) else value))
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    text = str(value)
    # JSON's quoting escapes quotes, backslashes and newlines: a value never breaks the line.
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def logfmt(fields: Iterable[tuple[str, object]]) -> str:
    """`key=value key2="value with spaces"`."""
    return " ".join(f"{key}={_value(value)}" for key, value in fields)


class LogfmtFormatter(logging.Formatter):
    """`<UTC time> <LEVEL> <event> key=value…`; a traceback, when there is one, follows on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = " ".join(part for part in (self._moment(record), record.levelname, self._said(record)) if part)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    @staticmethod
    def _moment(record: logging.LogRecord) -> str:
        return datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    @staticmethod
    def _said(record: logging.LogRecord) -> str:
        """The event and its `extra` fields."""
        extra = [(key, value) for key, value in vars(record).items()
                 if key not in _RECORD_ATTRIBUTES and not key.startswith("_")]
        return " ".join(part for part in (record.getMessage(), logfmt(extra)) if part)


class PlainFormatter(LogfmtFormatter):
    """The CLI's console: `outage-desk: warning: <why>`, in words, for the person at the terminal.

    A record says why in its `why` field; one without falls back to the logfmt line, event and fields.
    """

    def format(self, record: logging.LogRecord) -> str:
        why = getattr(record, "why", None)
        return f"outage-desk: {record.levelname.lower()}: {why or self._said(record)}"


def configure_logging(level: int = logging.WARNING, plain: bool = False) -> None:
    """Send every logger's records to stderr in the one format (or, `plain`, the CLI's), at `level` and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PlainFormatter() if plain else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # A Zendesk call cut short mid-headers (deadline, stop) makes urllib3 log a traceback about the
    # half-read headers; the session reports that call itself, as ZendeskTimeout or Stopped.
    logging.getLogger("urllib3.connection").setLevel(logging.ERROR)
    # Every job run and every migration check would be a line at INFO: the jobs log what they did.
    for chatty in ("apscheduler.executors", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
