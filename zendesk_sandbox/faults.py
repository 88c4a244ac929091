"""Injected failures on /api/: 5xx, 429, malformed and dripped answers, lost answers, failed job items.

Zendesk documents that clients must handle 429 with Retry-After and transient 5xx answers
(https://developer.zendesk.com/api-reference/introduction/rate-limits/ and
https://developer.zendesk.com/api-reference/introduction/requests/), and that a job's results carry
per-item errors (https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/).
The rest (proxies' HTML pages, cut connections, slow networks) is what any HTTP client meets on the way.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields

RATES = ("server_error_rate", "rate_limit_rate", "malformed_rate", "lost_answer_rate", "drip_rate")
SERVER_ERROR_STATUSES = (500, 502, 503)
MALFORMED_KINDS = ("html", "truncated", "empty")
ITEM_ERRORS = {
    "update": (
        ("TicketUpdateFailed", "The ticket could not be updated. Please try again."),
        ("InternalError", "An internal error occurred while processing this ticket."),
    ),
    "create": (
        ("TicketCreateFailed", "The ticket could not be created. Please try again."),
        ("InternalError", "An internal error occurred while processing this ticket."),
    ),
}
GATEWAY_PAGE = (
    "<html><head><title>{status} {reason}</title></head>"
    "<body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
)
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


@dataclass(frozen=True)
class Faults:
    """How often each failure happens (per API request, or per job item), and how it looks.

    The request rates are drawn from one roll, so together they must not exceed 1.
    """

    server_error_rate: float = 0.0  # 500/502/503, the request not carried out
    rate_limit_rate: float = 0.0  # 429 with Retry-After, the request not carried out
    malformed_rate: float = 0.0  # 200 with an HTML page, cut-off JSON or no body
    lost_answer_rate: float = 0.0  # the request IS carried out, the client gets a 502 (or waits)
    drip_rate: float = 0.0  # the real answer, one byte every drip_delay seconds
    item_failure_rate: float = 0.0  # per ticket inside update_many/create_many jobs
    retry_after: int = 5
    drip_delay: float = 3.0
    # 0: a lost answer is an immediate 502; above 0, the answer is held that long then turned into a 504.
    lost_answer_stall: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name in (*RATES, "item_failure_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if sum(getattr(self, name) for name in RATES) > 1.0:
            raise ValueError(f"{', '.join(RATES)} must add up to at most 1")
        if self.retry_after < 0 or self.drip_delay < 0 or self.lost_answer_stall < 0:
            raise ValueError("retry_after, drip_delay and lost_answer_stall must not be negative")

    @classmethod
    def from_json(cls, body: dict) -> Faults:
        """Faults from a JSON object of field names; missing fields take their defaults.

        :raises ValueError: an unknown field, a value of the wrong type, or rates out of range.
        """
        known = {item.name: item.type for item in fields(cls)}
        unknown = sorted(set(body) - set(known))
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values = {}
        for name, value in body.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number")
            if known[name] == "int" and value != int(value):
                raise ValueError(f"{name} must be a whole number")
            values[name] = int(value) if known[name] == "int" else float(value)
        return cls(**values)

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """What to do to one request: `kind` is None (nothing) or one of RATES without `_rate`."""

    kind: str | None
    status: int = 200
    variant: str = ""


NO_FAULT = Verdict(None)


class FaultInjector:
    """Draws the faults from seeded RNGs, so one seed and one request order give the same run."""

    def __init__(self, faults: Faults):
        self._lock = threading.Lock()
        self.set(faults)

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        """Replace the settings and restart the RNG from their seed."""
        with self._lock:
            self._faults = faults
            # Job items fail on the job worker's thread: their own stream keeps both reproducible.
            self._rng = random.Random(f"{faults.seed}:requests")
            self._item_rng = random.Random(f"{faults.seed}:items")

    def for_request(self) -> Verdict:
        """The fault for one API request, if any."""
        with self._lock:
            faults = self._faults
            if not any(getattr(faults, name) for name in RATES):
                return NO_FAULT
            roll = self._rng.random()
            for name in RATES:
                rate = getattr(faults, name)
                if roll < rate:
                    return self._verdict(name.removesuffix("_rate"))
                roll -= rate
            return NO_FAULT

    def for_item(self, action: str) -> tuple[str, str] | None:
        """(error, details) when this job item fails, else None."""
        with self._lock:
            if not self._faults.item_failure_rate or self._item_rng.random() >= self._faults.item_failure_rate:
                return None
            return self._item_rng.choice(ITEM_ERRORS[action])

    def _verdict(self, kind: str) -> Verdict:
        if kind == "server_error":
            return Verdict(kind, self._rng.choice(SERVER_ERROR_STATUSES))
        if kind == "rate_limit":
            return Verdict(kind, 429)
        if kind == "malformed":
            return Verdict(kind, 200, self._rng.choice(MALFORMED_KINDS))
        if kind == "lost_answer":
            return Verdict(kind, 504 if self._faults.lost_answer_stall else 502)
        return Verdict(kind)


def gateway_page(status: int) -> str:
    """The HTML page a proxy in front of the API answers with."""
    return GATEWAY_PAGE.format(status=status, reason=REASONS[status])


def drip(body: bytes, delay: float, sleep: Callable[[float], None]) -> Iterator[bytes]:
    """Yield `body` one byte at a time, sleeping `delay` seconds before each byte."""
    yield b""  # the server sends the status and headers at once; only the body trickles
    for index in range(len(body)):
        sleep(delay)
        yield body[index : index + 1]
