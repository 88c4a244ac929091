"""An operator runs a whole outage with the CLI against a Zendesk that fails, and kills it at random moments.

3,000 tickets; the sandbox answers 5 % of API calls with a 5xx, 3 % with a 429, 1 % with an HTML page or cut-off
JSON, loses 1 % of its answers after doing the work, and fails 5 % of the tickets inside its bulk jobs. The
operator runs `outage-desk declare …` and then `outage-desk resolve`, exactly as the README says; a run is
SIGKILLed at a random moment (at least 10 times in all), and whenever a run is killed or says to, the operator
runs the very same plain command again — no flag, no `--incident`. At the end every customer of the outage
has one acknowledgement (or, without an email address, one private note), and one closing email (or one
call-back note); nobody else gets anything, and nothing is written twice.

The sandbox is served by this test process, so it outlives every kill and keeps running the jobs a killed
run left queued, as Zendesk would. Figures are printed (pytest -rP) and in every failure.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


from app.incident.resolve import CALLBACK_NOTE, PROBLEM_SOLVED_NOTE
from app.incident.take_in import HISTORY_NOTE
from app.zendesk.query import parse
from tests.faults.test_resolve_kill_restart import cli_env
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, OUTAGE_DESK_MACROS, Account
from zendesk_sandbox.faults import Faults
from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

SEED = int(os.environ.get("FAULTS_SEED", "8031"))
TICKETS = 3000
FAULTS = Faults(server_error_rate=0.05, rate_limit_rate=0.03, malformed_rate=0.01, lost_answer_rate=0.01,
                item_failure_rate=0.05, retry_after=1, seed=SEED)
# Jobs take ~0.8 s per 100 tickets, one at a time (Zendesk is slower still), so a run is still at work when
# its kill comes: declare and resolve each keep Zendesk busy for about 20 s.
JOB_DELAY, JOB_DELAY_PER_TICKET = 0.2, 0.006
KILLS = {"declare": 5, "resolve": 8}  # at most; a command that finishes first is not killed again
MIN_KILLS = 10
MAX_STARTS = 40
RUN_TIMEOUT = 300
UNSOLVED = {"new", "open", "pending", "hold"}
CALLBACK_OPENING = CALLBACK_NOTE.split("{")[0]
PROBLEM_NOTE_OPENING = PROBLEM_SOLVED_NOTE.split("{")[0]


@dataclass
class Run:
    command: str
    number: int
    kill_after: float | None
    killed: bool
    returncode: int
    seconds: float
    said: str  # the last lines the operator read

    def __str__(self) -> str:
        what = "killed" if self.killed else f"exited {self.returncode}"
        return f"{self.command} #{self.number:02d} {what} at {self.seconds:5.2f}s: {self.said[-300:]!r}"


def run_once(argv: list[str], env: dict, cwd: Path, kill_after: float | None) -> tuple[bool, int, float, str]:
    """One run of the CLI; SIGKILLed `kill_after` seconds in unless it is over by then."""
    log = cwd / "last-run.log"
    with log.open("w") as out:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", *argv], env=env,
                                   cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=kill_after if kill_after is not None else RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                raise
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    seconds = time.monotonic() - started
    return process.returncode == -signal.SIGKILL, process.returncode, seconds, log.read_text()


def operate(name: str, argv: list[str], env: dict, cwd: Path, rng: random.Random, kills: int,
            runs: list[Run]) -> None:
    """Run the command, and again after every kill or whenever it says to, until it succeeds."""
    killed = 0
    for number in range(1, MAX_STARTS + 1):
        kill_after = rng.uniform(0.4, 4.0) if killed < kills else None
        was_killed, returncode, seconds, output = run_once(argv, env, cwd, kill_after)
        killed += was_killed
        runs.append(Run(name, number, kill_after, was_killed, returncode, seconds, output.strip()))
        if was_killed:
            continue
        if returncode == 0:
            return
        # The operator re-runs a failed command only where the CLI tells them to.
        assert "again" in output, "\n".join(map(str, runs))
    raise AssertionError(f"{name} never finished in {MAX_STARTS} starts\n" + "\n".join(map(str, runs)))


def jobs_inflight(account: Account) -> int:
    with account.state.lock:
        return sum(1 for job in account.state.jobs.values() if job.status in ("queued", "working"))


def wait_for_idle_jobs(account: Account, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while jobs_inflight(account) and time.monotonic() < deadline:
        time.sleep(0.05)
    return jobs_inflight(account)


def outage_tickets(account: Account, since: datetime) -> set[int]:
    """What the runbook says declare must take in, read from the account itself."""
    query = parse("API")
    with account.state.lock:
        return {t["id"] for t in account.state.tickets.values()
                if t["status"] in UNSOLVED and account.state.users[t["requester_id"]]["role"] == "end-user"
                and t["created_at"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ")
                and query.matches(t, account.state.users[t["requester_id"]])}


def test_an_operator_runs_an_outage_through_faults_and_kills_and_every_customer_hears_once(database_url, tmp_path):
    began = time.monotonic()
    rng = random.Random(SEED)
    state = SandboxState(api_email=API_EMAIL)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    seed = seed_outage(state, tickets=TICKETS, seed=5, start=start, macros=OUTAGE_DESK_MACROS)
    server = serve_sandbox(create_sandbox_app(state, email=API_EMAIL, api_token=API_TOKEN, rate_limit_per_minute=2500,
                                              job_delay=JOB_DELAY, job_delay_per_ticket=JOB_DELAY_PER_TICKET,
                                              faults=FAULTS))
    account = Account(state=state, server=server, seed=seed, start=start)
    runs: list[Run] = []
    try:
        targets = outage_tickets(account, start)
        with state.lock:
            email_of = {t: state.users[state.tickets[t]["requester_id"]].get("email") for t in targets}
            comments_before = {t: len(state.comments.get(t, [])) for t in targets}
        reachable = {t for t in targets if email_of[t]}
        env = cli_env(account, database_url)  # what the README has the operator set, and nothing of ours
        since = start.strftime("%Y-%m-%dT%H:%M:%SZ")

        operate("declare", ["declare", "--title", "API down", "--query", "API", "--since", since], env, tmp_path,
                rng, KILLS["declare"], runs)
        left_by_declare = wait_for_idle_jobs(account)
        mark = len(state.emails)
        operate("resolve", ["resolve"], env, tmp_path, rng, KILLS["resolve"], runs)
        left_queued = wait_for_idle_jobs(account)
        final = runs[-1]

        with state.lock:
            acknowledgements = Counter(e["ticket_id"] for e in state.emails[:mark])
            closings = Counter(e["ticket_id"] for e in state.emails[mark:])
            ours = {t: state.comments.get(t, [])[comments_before[t]:] for t in targets}
            problem = next(t for t in state.tickets.values() if t.get("type") == "problem"
                           and t["subject"] == "[Outage] API down")
            problems = [t["id"] for t in state.tickets.values() if t["subject"] == "[Outage] API down"]
            problem_notes = sum(1 for c in state.comments.get(problem["id"], [])
                                if c["body"].startswith(PROBLEM_NOTE_OPENING))
        notes = Counter({t: sum(1 for c in ours[t] if c["body"] == HISTORY_NOTE) for t in targets})
        callback_notes = Counter({t: sum(1 for c in ours[t] if c["body"].startswith(CALLBACK_OPENING))
                                  for t in targets})
    finally:
        server.shutdown()

    kills = sum(r.killed for r in runs)
    figures = (f"{kills} kills in {len(runs)} starts, seed {SEED}; targets {len(targets)} ({len(reachable)} with "
               f"email); acknowledgements {sum(acknowledgements.values())} to {len(acknowledgements)} tickets; "
               f"API DOWN notes {sum(notes.values())}; closing emails {sum(closings.values())} to {len(closings)} "
               f"tickets; call-back notes {sum(callback_notes.values())}; problem tickets {len(problems)}, "
               f"{problem['status']} with {problem_notes} resolution notes; jobs left by declare {left_by_declare}, "
               f"after resolve {left_queued}; runtime {time.monotonic() - began:.0f}s")
    report = "\n".join([figures, *map(str, runs)])
    print(report)

    assert kills >= MIN_KILLS, report
    assert final.returncode == 0 and "is resolved" in final.said, report
    assert left_queued == 0, report
    # Acknowledged at least once and at most once: the customers with an email address, each once.
    assert set(acknowledgements) == reachable and set(acknowledgements.values()) == {1}, report
    # The private note only where no acknowledgement went, once.
    assert {t for t, n in notes.items() if n} == targets - reachable and set(notes.values()) <= {0, 1}, report
    # The closing email to every customer with an address, once; nobody else.
    assert set(closings) == reachable and set(closings.values()) == {1}, report
    assert {t for t, n in callback_notes.items() if n} == targets - reachable, report
    assert set(callback_notes.values()) <= {0, 1}, report
    assert len(problems) == 1 and problem["status"] == "solved" and problem_notes == 1, report
