"""A sandbox for fault-injection runs: served slowly enough that a SIGKILL lands in the middle of real work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.server import SandboxServer, create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, OUTAGE_DESK_MACROS, Account


class TwoSpeedAccount:
    """One sandbox state behind two servers: a quick one to declare on, a realistic one to resolve against.

    The declaration is only the set-up of the fault run; with realistic job delays it alone would take
    longer than the whole kill-and-restart loop.
    """

    def __init__(self, tickets: int, job_delay: float, job_delay_per_ticket: float):
        self.state = SandboxState(api_email=API_EMAIL)
        self.start = datetime.now(timezone.utc) - timedelta(hours=3)
        self.seed = seed_outage(self.state, tickets=tickets, seed=3, start=self.start, macros=OUTAGE_DESK_MACROS)
        self.quick: SandboxServer | None = self._serve(job_delay=0.01, job_delay_per_ticket=0.0)
        self.slow: SandboxServer | None = None
        self._slow_delays = {"job_delay": job_delay, "job_delay_per_ticket": job_delay_per_ticket}

    def _serve(self, **delays: float) -> SandboxServer:
        return serve_sandbox(create_sandbox_app(self.state, email=API_EMAIL, api_token=API_TOKEN,
                                                rate_limit_per_minute=100_000, **delays))

    def for_declare(self) -> Account:
        assert self.quick is not None
        return Account(state=self.state, server=self.quick, seed=self.seed, start=self.start)

    def for_resolve(self) -> Account:
        """Stop the quick server (its jobs are done: declare waits for them) and serve the realistic one."""
        if self.quick is not None:
            self.quick.shutdown()
            self.quick = None
        if self.slow is None:
            self.slow = self._serve(**self._slow_delays)
        return Account(state=self.state, server=self.slow, seed=self.seed, start=self.start)

    def shutdown(self) -> None:
        for server in (self.quick, self.slow):
            if server is not None:
                server.shutdown()


@pytest.fixture
def two_speed_account():
    """A factory: `two_speed_account(tickets, job_delay, job_delay_per_ticket)`; its servers stop after the test."""
    made: list[TwoSpeedAccount] = []

    def make(tickets: int, job_delay: float, job_delay_per_ticket: float) -> TwoSpeedAccount:
        made.append(TwoSpeedAccount(tickets, job_delay, job_delay_per_ticket))
        return made[-1]

    yield make
    for account in made:
        account.shutdown()
