"""Child processes of the benchmark: the seeded sandbox and Outage Desk's phases, each measured apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.sandbox_server import API_EMAIL, API_TOKEN

REPO = Path(__file__).resolve().parent.parent
# Settings from the caller's shell must not leak into a measured run.
OWN_PREFIXES = ("ZENDESK_", "ZAF_", "OUTAGE_DESK_", "DATABASE_URL", "PYTHONTRACEMALLOC")
PHASE_TIMEOUT = 1800


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without Outage Desk's settings, plus `settings`; `bench` importable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(settings)
    return env


@dataclass(frozen=True)
class ApiStats:
    """The sandbox's count of /api/v2 calls (429s included) at one moment."""

    calls: int
    rate_limited: int
    emails: int
    by_endpoint: Counter

    def __sub__(self, earlier: ApiStats) -> ApiStats:
        return ApiStats(self.calls - earlier.calls, self.rate_limited - earlier.rate_limited,
                        self.emails - earlier.emails, self.by_endpoint - earlier.by_endpoint)


@dataclass(frozen=True)
class Sandbox:
    url: str
    referent_id: int
    since: str
    seeded: int

    def stats(self) -> ApiStats:
        data = requests.get(f"{self.url}/_sandbox/stats", timeout=60).json()
        return ApiStats(data["api_calls"], data["rate_limited"], data["emails"], Counter(data["by_endpoint"]))

    def desk_env(self, database_url: str) -> dict[str, str]:
        """Outage Desk's settings for this sandbox, as an admin would export them."""
        return clean_env(ZENDESK_URL=self.url, ZENDESK_SUBDOMAIN="bench", ZENDESK_EMAIL=API_EMAIL,
                         ZENDESK_API_TOKEN=API_TOKEN, OUTAGE_DESK_REFERENT=str(self.referent_id),
                         DATABASE_URL=database_url)


@contextmanager
def sandbox(tickets: int, rate_limit: int, job_delay: float, job_delay_per_ticket: float,
            lift_endpoint_limits: bool = False) -> Iterator[Sandbox]:
    """A sandbox process seeded with exactly `tickets` outage tickets due for take-in."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sandbox_server", "--tickets", str(tickets), "--rate-limit", str(rate_limit),
         "--job-delay", str(job_delay), "--job-delay-per-ticket", str(job_delay_per_ticket),
         *(["--lift-endpoint-limits"] if lift_endpoint_limits else [])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean_env(), cwd=REPO)
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox exited before serving (code {process.wait()})")
        info = json.loads(line)
        yield Sandbox(info["url"], info["referent_id"], info["since"], info["seeded"])
    finally:
        process.stdin.close()  # its signal to shut down
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_phase(phase: str, env: dict[str, str], workdir: Path, *extra: str) -> dict:
    """Run bench.desk_phase in a fresh process; its JSON figures."""
    done = subprocess.run([sys.executable, "-m", "bench.desk_phase", phase, *extra], env=env, cwd=workdir,
                          stdout=subprocess.PIPE, text=True, timeout=PHASE_TIMEOUT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
