"""Part 2: signed webhooks into the real app under gunicorn, side by side with a bare Flask endpoint."""

from __future__ import annotations

import itertools
import json
import secrets
import statistics
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.intake.signature import ZendeskSignature
from app.store.db import make_engine, upgrade
from app.store.secrets import SecretBox
from bench.load import LoadResult, run_load
from bench.processes import clean_env
from bench.report import Row, Section

WORKERS = 2
CONNECTIONS = 4  # two per worker: each always has the next request waiting
WARMUP = 2.0
ROUNDS = 3
MAX_REQUESTS = 200_000
RATIO_TARGET = 0.5
P99_TARGET = 0.050
STARTUP_TIMEOUT = 30.0


def intake_rows(seconds: float, workdir: Path) -> tuple[list[Row | Section], list[str]]:
    """Drive both apps the same way, in alternating rounds, and compare their medians.

    Both servers stay up the whole time and take turns: a change in the machine's background
    load then moves both figures alike instead of the ratio.
    """
    secret = secrets.token_urlsafe(32)
    database_url = f"sqlite:///{workdir / 'intake.db'}"
    upgrade(make_engine(database_url))  # as `outage-desk serve` does before it forks
    env = clean_env(DATABASE_URL=database_url, ZENDESK_WEBHOOK_SECRET=secret,
                    # Configured as in production (sidebar on); nothing here calls Zendesk.
                    OUTAGE_DESK_SECRET_KEY=SecretBox.new_key(),
                    ZENDESK_SUBDOMAIN="bench",
                    ZENDESK_URL="http://127.0.0.1:9", ZENDESK_EMAIL="admin@example.com", ZENDESK_API_TOKEN="unused")
    requests = signed_requests(secret)
    bare_runs, real_runs = [], []
    with gunicorn("bench.bare_app:create_app()", env, workdir, "bare") as bare_port, \
            gunicorn("app.web:create_app()", env, workdir, "real") as real_port:
        for _ in range(ROUNDS):
            bare_runs.append(run_load(bare_port, requests, 200, connections=CONNECTIONS, warmup=WARMUP,
                                      duration=seconds / ROUNDS, max_requests=MAX_REQUESTS))
            real_runs.append(run_load(real_port, requests, 202, connections=CONNECTIONS, warmup=WARMUP,
                                      duration=seconds / ROUNDS, max_requests=MAX_REQUESTS))
    bare, real = LoadResult.merged(bare_runs), LoadResult.merged(real_runs)
    ratios = [r.rate / b.rate for r, b in zip(real_runs, bare_runs) if b.rate]
    ratio = statistics.median(ratios) if ratios else 0.0
    p99 = real.percentile(0.99)
    rows: list[Row | Section] = [
        Section(f"2. Webhook intake: gunicorn -w {WORKERS} (sync), {CONNECTIONS} connections, {ROUNDS} alternating "
                f"rounds of {seconds / ROUNDS:.0f} s per app after {WARMUP:.0f} s warm-up each, SQLite store"),
        _figures("real POST /webhooks/zendesk (202, stored)", real),
        _figures("bare Flask endpoint (200, small JSON, nothing done)", bare),
        Row("throughput ratio real / bare, per round", ", ".join(f"{r:.0%}" for r in ratios)),
        Row("throughput ratio real / bare, median round", f"{ratio:.0%}", f">= {RATIO_TARGET:.0%}",
            ratio >= RATIO_TARGET),
        Row("p99 latency, real endpoint", f"{p99 * 1000:.1f} ms", f"< {P99_TARGET * 1000:.0f} ms",
            p99 < P99_TARGET),
        Row("unexpected answers (real / bare)", f"{real.unexpected} / {bare.unexpected}", "0 / 0",
            not real.unexpected and not bare.unexpected),
    ]
    notes = [f"The load generator shares the 2 cores with gunicorn; it used {real.client_cpu:.0%} (real runs) and "
             f"{bare.client_cpu:.0%} (bare runs) of one core. Each webhook has its own invocation id and ticket id, "
             "signed as Zendesk signs them; req/s and latencies are over all rounds."]
    return rows, notes


def _figures(name: str, result: LoadResult) -> Row:
    return Row(f"{name}: req/s, p50 / p99",
               f"{result.rate:,.0f}/s, {result.percentile(0.5) * 1000:.1f} / {result.percentile(0.99) * 1000:.1f} ms")


def signed_requests(secret: str) -> Iterator[bytes]:
    """Zendesk-style deliveries, each a distinct event, as raw HTTP requests."""
    signature = ZendeskSignature(secret)
    for n in itertools.count(1):
        body = json.dumps({"ticket_id": str(n), "event": "ticket.created"}).encode()
        headers = {**signature.headers(body), "X-Zendesk-Webhook-Invocation-Id": f"bench-{n}",
                   "Host": "127.0.0.1", "Content-Type": "application/json",
                   "Content-Length": str(len(body)), "Connection": "close"}
        head = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        yield f"POST /webhooks/zendesk HTTP/1.1\r\n{head}\r\n".encode() + body


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], workdir: Path, name: str) -> Iterator[int]:
    """`gunicorn -w 2` serving `app_spec` on a free loopback port; yields the port."""
    port = _free_port()
    log_path = workdir / f"gunicorn-{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level",
             "warning", app_spec], env=env, cwd=workdir, stdout=log, stderr=log)
        try:
            if not _listening(port, process):
                raise RuntimeError(f"gunicorn did not serve {app_spec}:\n{log_path.read_text()[-2000:]}")
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int, process: subprocess.Popen) -> bool:
    """Wait for the port to accept connections; False if gunicorn died or took too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
            continue
        # The master listens before its workers have imported the app; give them a moment.
        time.sleep(1.0)
        return True
    return False
