"""Part 2: signed webhooks into `outage-desk serve`, on SQLite and on PostgreSQL, side by side with a bare
Flask endpoint under the same gunicorn settings."""

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
from contextlib import ExitStack, contextmanager
from pathlib import Path

from app.intake.signature import ZendeskSignature
from app.store.secrets import SecretBox
from app.web_server import WORKER_CLASS, ServerSettings
from bench.load import LoadResult, run_load
from bench.postgres import INSTALL_HINT, describe, postgres_database
from bench.processes import clean_env
from bench.report import Row, Section

WORKERS = ServerSettings.workers
CONNECTIONS = 2 * WORKERS  # two per worker: each always has the next request waiting
WARMUP = 2.0
ROUNDS = 3
MAX_REQUESTS = 200_000
RATIO_TARGET = 0.5
P99_TARGET = 0.050
STARTUP_TIMEOUT = 60.0
BARE = [sys.executable, "-m", "bench.bare_app"]
SERVE = [sys.executable, "-c", "from app.cli import main; main()", "serve"]


def intake_rows(seconds: float, workdir: Path) -> tuple[list[Row | Section], list[str]]:
    """Drive the bare endpoint and the real one on each store the same way, in alternating rounds.

    All servers stay up the whole time and take turns: a change in the machine's background load
    then moves every figure alike instead of the ratios. Each store's ratio is to the bare endpoint's
    rate in the same round.
    """
    secret = secrets.token_urlsafe(32)
    env = clean_env(ZENDESK_WEBHOOK_SECRET=secret,
                    # Configured as in production (sidebar on); nothing here calls Zendesk.
                    OUTAGE_DESK_SECRET_KEY=SecretBox.new_key(),
                    ZENDESK_SUBDOMAIN="bench",
                    ZENDESK_URL="http://127.0.0.1:9", ZENDESK_EMAIL="admin@example.com", ZENDESK_API_TOKEN="unused")
    requests = signed_requests(secret)
    with postgres_database() as postgres_url, ExitStack() as servers:
        stores = {"SQLite": f"sqlite:///{workdir / 'intake.db'}"}
        if postgres_url:
            stores["PostgreSQL"] = postgres_url
        bare_port = servers.enter_context(_server(BARE, env, workdir, "bare"))
        # `outage-desk serve` itself: it migrates the store, then runs gunicorn as in production.
        real_ports = {store: servers.enter_context(_server(SERVE, {**env, "DATABASE_URL": url}, workdir, store.lower()))
                      for store, url in stores.items()}
        bare_runs: list[LoadResult] = []
        real_runs: dict[str, list[LoadResult]] = {store: [] for store in stores}
        for _ in range(ROUNDS):
            bare_runs.append(_measure(bare_port, requests, 200, seconds / ROUNDS))
            for store, port in real_ports.items():
                real_runs[store].append(_measure(port, requests, 202, seconds / ROUNDS))
        postgres_note = describe(postgres_url) if postgres_url else None
    bare = LoadResult.merged(bare_runs)
    rows: list[Row | Section] = [
        Section(f"2. Webhook intake: `outage-desk serve` ({WORKERS} {WORKER_CLASS} workers x {ServerSettings.threads} "
                f"threads) per store and a bare Flask endpoint under the same settings, {CONNECTIONS} connections, "
                f"{ROUNDS} alternating rounds of {seconds / ROUNDS:.0f} s per app after {WARMUP:.0f} s warm-up each"),
        _figures("bare Flask endpoint (200, small JSON, nothing done)", bare),
        _unexpected("  unexpected answers", bare),
    ]
    for store, runs in real_runs.items():
        rows += _store_rows(store, runs, bare_runs)
    if not postgres_url:
        rows.append(Row("PostgreSQL: real POST /webhooks/zendesk", "not measured", INSTALL_HINT, skipped=True))
    real_cpu = statistics.mean(LoadResult.merged(runs).client_cpu for runs in real_runs.values())
    notes = [f"The load generator shares the machine's cores with gunicorn; it used {real_cpu:.0%} (real runs) and "
             f"{bare.client_cpu:.0%} (bare runs) of one core. Each webhook has its own invocation id and ticket id, "
             "signed as Zendesk signs them; req/s and latencies are over all rounds."]
    if postgres_note:
        notes.append(f"PostgreSQL: {postgres_note}.")
    return rows, notes


def _measure(port: int, requests: Iterator[bytes], status: int, seconds: float) -> LoadResult:
    return run_load(port, requests, status, connections=CONNECTIONS, warmup=WARMUP, duration=seconds,
                    max_requests=MAX_REQUESTS)


def _store_rows(store: str, runs: list[LoadResult], bare_runs: list[LoadResult]) -> list[Row]:
    real = LoadResult.merged(runs)
    ratios = [r.rate / b.rate for r, b in zip(runs, bare_runs) if b.rate]
    ratio = statistics.median(ratios) if ratios else 0.0
    p99 = real.percentile(0.99)
    return [
        _figures(f"{store}: real POST /webhooks/zendesk (202, stored)", real),
        Row("  throughput ratio real / bare, per round", ", ".join(f"{r:.0%}" for r in ratios)),
        Row("  throughput ratio real / bare, median round", f"{ratio:.0%}", f">= {RATIO_TARGET:.0%}",
            ratio >= RATIO_TARGET),
        Row("  p99 latency", f"{p99 * 1000:.1f} ms", f"< {P99_TARGET * 1000:.0f} ms", p99 < P99_TARGET),
        _unexpected("  unexpected answers", real),
    ]


def _unexpected(name: str, result: LoadResult) -> Row:
    return Row(name, str(result.unexpected), "0", not result.unexpected)


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
def _server(command: list[str], env: dict[str, str], workdir: Path, name: str) -> Iterator[int]:
    """`command --bind 127.0.0.1:PORT --workers N` on a free loopback port; yields the port."""
    port = _free_port()
    log_path = workdir / f"gunicorn-{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([*command, "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)], env=env,
                                   cwd=workdir, stdout=log, stderr=log)
        try:
            if not _listening(port, process):
                raise RuntimeError(f"{name} server did not start:\n{log_path.read_text()[-2000:]}")
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int, process: subprocess.Popen) -> bool:
    """Wait for the port to accept connections; False if the server died or took too long."""
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
