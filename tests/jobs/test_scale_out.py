"""The deployment that scales out: two `serve` nodes behind a load balancer, two workers, one PostgreSQL.

As the README's Deployment section runs it: the operator runs `outage-desk setup` with the load balancer's
URL, starts two `outage-desk serve` and two `outage-desk worker` processes on the same PostgreSQL, and
declares the outage from the CLI. Customers write in; Zendesk's triggers post signed webhooks to the load
balancer, which hands them to the two nodes in turn. The worker holding the lease is SIGKILLed while
Zendesk is running its take-in job; the standby takes over once the lease lapses. The operator resolves
from the CLI. Every outage ticket is taken in once, every customer acknowledged once and sent one closing
email, and nobody else gets anything. Figures are printed (pytest -rP) and in every failure.

The sandbox Zendesk and the load balancer are served by this test process, so both outlive the kill.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from app.incident.take_in import HISTORY_NOTE
from app.jobs.lease import WORKER_LEASE
from app.store.db import make_engine, make_session_factory
from app.store.leases import lease_holder
from tests.faults.test_operator_end_to_end import outage_tickets
from tests.faults.test_resolve_kill_restart import cli_env
from tests.helpers import wait_until
from tests.jobs.test_processes import _answers, free_port
from tests.scenarios.conftest import API_EMAIL, API_TOKEN, OUTAGE_DESK_MACROS, Account
from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

TICKETS = 300
WAVES = (40, 40)  # customers writing in before the kill, and after it
# Zendesk's jobs take their time, so the worker that holds the lease is mid-job when it is killed.
JOB_DELAY, JOB_DELAY_PER_TICKET = 0.6, 0.02
LEASE_SECONDS = 3
# New tickets stay out of search this long, as on Zendesk: only the webhooks can bring them in.
INDEX_DELAY_SECONDS = 600


class RoundRobin:
    """The load balancer: each request to the next node in turn, as nginx's default upstream does."""

    def __init__(self, nodes: list[str]):
        self.nodes = nodes
        self._next = itertools.cycle(range(len(nodes)))
        self._lock = threading.Lock()
        self.answered: Counter = Counter()  # (node index, status code) -> requests
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        with self._lock:
            node = next(self._next)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = requests.request(request.method, self.nodes[node] + request.full_path.rstrip("?"),
                                  data=request.get_data(), headers=headers, timeout=10)
        with self._lock:
            self.answered[node, answer.status_code] += 1
        return Response(answer.content, status=answer.status_code,
                        content_type=answer.headers.get("Content-Type"))

    def shutdown(self) -> None:
        self._server.shutdown()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        """No access log line per webhook: the balancer counts them in `answered`."""


def outage_desk(env: dict, cwd, name: str, *args: str) -> subprocess.Popen:
    """`outage-desk ARGS` in the background, as the operator's process manager starts it; its log in cwd."""
    with open(cwd / f"{name}.log", "w") as log:
        return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def run(env: dict, cwd, *args: str) -> str:
    """`outage-desk ARGS` in the foreground, as the operator types it; its output."""
    done = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def scaled_out(tmp_path, processes):
    """A sandbox account, its load balancer; the processes are the test's to start (and the fixture's to stop)."""
    state = SandboxState(api_email=API_EMAIL)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    seed = seed_outage(state, tickets=TICKETS, seed=12, start=start, macros=OUTAGE_DESK_MACROS)
    server = serve_sandbox(create_sandbox_app(state, email=API_EMAIL, api_token=API_TOKEN,
                                              rate_limit_per_minute=100_000, job_delay=JOB_DELAY,
                                              job_delay_per_ticket=JOB_DELAY_PER_TICKET,
                                              index_delay=INDEX_DELAY_SECONDS))
    nodes = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    balancer = RoundRobin(nodes)
    yield Account(state=state, server=server, seed=seed, start=start), balancer
    balancer.shutdown()
    server.shutdown()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_and_two_workers_on_postgresql_take_in_and_notify_everyone_once_through_a_worker_kill(
        database_url, tmp_path, processes, scaled_out):
    began = time.monotonic()
    account, balancer = scaled_out
    state = account.state
    env = cli_env(account, database_url)  # what the README has the operator set, and nothing of ours
    sessions = make_session_factory(engine := make_engine(database_url))

    # The runbook: setup with the load balancer's URL, then the processes the Procfile names.
    run(env, tmp_path, "setup", "--service-url", balancer.url)
    for index, node in enumerate(balancer.nodes):
        processes.append(outage_desk(env, tmp_path, f"web{index + 1}", "serve", "--bind",
                                     node.removeprefix("http://"), "--workers", "1", "--threads", "8"))
    workers = {name: outage_desk(env, tmp_path, name, "worker", "--lease-seconds", str(LEASE_SECONDS))
               for name in ("worker1", "worker2")}
    processes.extend(workers.values())
    for node in balancer.nodes:
        wait_until(lambda: _answers(f"{node}/readyz"), timeout=30)

    def holder() -> str | None:
        lease = lease_holder(sessions, WORKER_LEASE)
        if lease is None or lease.expires_at <= datetime.now(timezone.utc):
            return None
        pid = int(lease.owner.split(":")[1])
        return next((name for name, process in workers.items() if process.pid == pid), None)

    wait_until(lambda: holder() is not None, timeout=30)

    seeded = outage_tickets(account, account.start)
    with state.lock:
        comments_before = {t: len(state.comments.get(t, [])) for t in seeded}
    run(env, tmp_path, "declare", "--title", "API down", "--query", "API", "--since",
        account.start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    jobs_after_declare = set(state.jobs)

    def write_in(count: int, wave: int) -> set[int]:
        return {account.write_in(f"API down? every call fails with a 503 ({wave}.{n})",
                                 email=f"customer-{wave}-{n}@example.org", name=f"Customer {wave}.{n}")
                for n in range(count)}

    def take_in_job_running() -> bool:
        with state.lock:
            return any(job.status in ("queued", "working") for key, job in state.jobs.items()
                       if key not in jobs_after_declare)

    first_wave = write_in(WAVES[0], 1)
    wait_until(take_in_job_running, timeout=30, interval=0.02)
    killed = holder()
    assert killed is not None
    workers[killed].kill()
    workers[killed].wait(timeout=10)
    killed_at = time.monotonic()
    survivor = next(name for name in workers if name != killed)
    second_wave = write_in(WAVES[1], 2)
    written_in = first_wave | second_wave
    wait_until(lambda: holder() == survivor, timeout=30)
    took_over = time.monotonic() - killed_at

    def acknowledged() -> Counter:
        with state.lock:
            return Counter(e["ticket_id"] for e in state.emails)

    reachable_seeded = {t for t in seeded if state.users[state.tickets[t]["requester_id"]].get("email")}
    wait_until(lambda: set(acknowledged()) >= reachable_seeded | written_in, timeout=60, interval=0.2)
    wait_until(lambda: not take_in_job_running(), timeout=30, interval=0.1)
    acknowledgements = acknowledged()
    targets = seeded | written_in
    with state.lock:
        take_in_jobs = len(set(state.jobs) - jobs_after_declare)
        mark = len(state.emails)
        tagged = {t for t in targets if "api_down" in state.tickets[t].get("tags", [])}
        linked = Counter(state.tickets[t].get("problem_id") for t in targets)

    said = run(env, tmp_path, "resolve")
    wait_until(lambda: not take_in_job_running(), timeout=30, interval=0.1)

    with state.lock:
        closings = Counter(e["ticket_id"] for e in state.emails[mark:])
        notes = Counter({t: sum(1 for c in state.comments.get(t, [])[comments_before.get(t, 0):]
                                if c["body"] == HISTORY_NOTE) for t in targets})
        webhooks = Counter(d["status"] for d in state.deliveries)
    reachable = reachable_seeded | written_in
    engine.dispose()

    figures = (f"seeded outage tickets {len(seeded)} ({len(reachable_seeded)} with email); written in "
               f"{len(written_in)} ({WAVES[0]} before the kill, {WAVES[1]} after); webhooks {dict(webhooks)}; "
               f"answered by node {dict(balancer.answered)}; take-in jobs {take_in_jobs}; killed {killed} mid-job, "
               f"{survivor} took over in {took_over:.1f}s; acknowledgements {sum(acknowledgements.values())} to "
               f"{len(acknowledgements)} tickets; API DOWN notes {sum(notes.values())}; tagged {len(tagged)} of "
               f"{len(targets)}; problem links {dict(linked)}; closing emails {sum(closings.values())} to "
               f"{len(closings)} tickets; runtime {time.monotonic() - began:.0f}s")
    print(figures)

    assert "is resolved" in said, figures + said
    # The standby waited for the lease while the other worked, and the killed one never had to.
    assert (tmp_path / f"{survivor}.log").read_text().count("jobs.lease-waiting") == 1, figures
    assert "jobs.lease-waiting" not in (tmp_path / f"{killed}.log").read_text(), figures
    # Both nodes took webhooks, and answered every one of them.
    assert {node for node, _ in balancer.answered} == {0, 1}, figures
    assert {code for _, code in balancer.answered} == {202}, figures
    assert set(webhooks) == {"delivered"}, figures
    # Taken in once: tagged and linked to the one problem ticket, acknowledged once, the note only without email.
    assert tagged == targets and len(linked) == 1 and None not in linked, figures
    assert set(acknowledgements) == reachable and set(acknowledgements.values()) == {1}, figures
    assert {t for t, n in notes.items() if n} == targets - reachable and set(notes.values()) <= {0, 1}, figures
    # One closing email to each customer with an address; nobody else.
    assert set(closings) == reachable and set(closings.values()) == {1}, figures
