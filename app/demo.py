"""`outage-desk demo`: a whole outage played against the sandbox, checked customer by customer."""

from __future__ import annotations

import logging
import math
import random
import secrets
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table
from werkzeug.serving import make_server

from app.clock import SystemClock
from app.config import Config
from app.incident.model import UNSOLVED, IncidentSpec
from app.incident.service import OutageDesk
from app.jobs.scheduler import build_scheduler
from app.store.secrets import SecretBox
from app.store.settings import WEBHOOK_SIGNING_SECRET, save_secret
from zendesk_sandbox.seed import load_macros, seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState
from app.web import create_app
from app.wiring import build_desk
from app.zendesk.provisioning import DEFINITIONS_ROOT, Provisioner
from app.zendesk.query import parse

API_EMAIL = "outage-desk-api@example.com"
QUERY = "API"
# New tickets stay out of search this long, as on Zendesk: only webhooks can bring them in.
INDEX_DELAY_SECONDS = 120
NEW_TICKET_TEXTS = {
    "fr": ("L'API ne répond plus", "Bonjour, l'API renvoie une erreur 503 depuis ce matin."),
    "en-US": ("API down again?", "Hi, every API call fails with a 503 since this morning."),
    "es": ("La API está caída", "Hola, la API devuelve un error 503 desde esta mañana."),
    "ru": ("API не работает", "Здравствуйте, API возвращает ошибку 503 с утра."),
    "de": ("API nicht erreichbar", "Hallo, die API antwortet seit heute Morgen mit 503."),
}


@dataclass
class Figures:
    rows: list[tuple[str, str, bool | None]] = field(default_factory=list)

    def add(self, name: str, value: object, ok: bool | None = None) -> None:
        self.rows.append((name, str(value), ok))

    @property
    def ok(self) -> bool:
        return all(ok is not False for _, _, ok in self.rows)


class ServiceThread:
    """The Flask service on a free local port, as `serve` would run it; its URL is known before it starts."""

    def __init__(self):
        self._app = None
        self._server = make_server("127.0.0.1", 0, lambda environ, start: self._app(environ, start), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self, config: Config) -> None:
        self._app = create_app(config)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def shutdown(self) -> None:
        self._server.shutdown()


def run_demo(tickets: int, new_tickets: int, console: Console) -> bool:
    """Run the demo; True when every check held."""
    began = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    clock = SystemClock()
    rng = random.Random(11)
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="outage-desk-demo-") as workdir:
        token = secrets.token_urlsafe(24)
        state = SandboxState(api_email=API_EMAIL)
        start = clock.now() - timedelta(hours=3)
        summary = seed_outage(state, tickets=tickets, seed=7, start=start,
                              macros=load_macros(DEFINITIONS_ROOT / "macros"), rich_text_macros=True)
        sandbox = serve_sandbox(create_sandbox_app(state, email=API_EMAIL, api_token=token, rate_limit_per_minute=700,
                                                   job_delay=0.05, index_delay=INDEX_DELAY_SECONDS))
        # A key of its own, as for the sandbox's token: the demo's store is thrown away with its folder.
        config = Config(zendesk_subdomain="demo", zendesk_url=sandbox.url, zendesk_email=API_EMAIL,
                        zendesk_api_token=token, database_url=f"sqlite:///{Path(workdir) / 'desk.db'}",
                        outage_desk_referent=str(summary.referent_id), outage_desk_secret_key=SecretBox.new_key())
        desk = build_desk(config, clock)
        service = ServiceThread()
        # As an admin would: `outage-desk setup` creates the webhook and triggers and stores the signing secret.
        provisioner = Provisioner(desk.gateway, config, service.url)
        plan = provisioner.plan()
        save_secret(desk.sessions, SecretBox(config.outage_desk_secret_key), WEBHOOK_SIGNING_SECRET,
                    provisioner.apply(plan)["webhook_secret"])
        console.print(f"[bold]Set up[/] the account: {len(plan.changes)} changes (webhook, triggers, macros, fields).")
        service.start(config)
        worker = build_scheduler(build_desk(config, clock), blocking=False, interval=0.3)
        worker.start()
        try:
            expected = _expected_outage_tickets(state, start)
            console.print(f"[bold]Seeded[/] {len(state.tickets)} tickets; {len(expected)} are about the outage.")

            calls_before, writes_before = _api_calls(sandbox.url), _bulk_writes(sandbox.url)
            report = desk.declare(IncidentSpec(title="API down: 503 on every call", query=QUERY, started_at=start,
                                               severity=2))
            declare_calls = _api_calls(sandbox.url) - calls_before
            declare_writes = _bulk_writes(sandbox.url) - writes_before
            console.print(f"Declared incident #{report.incident_id}: {report.taken_in} tickets taken in.")
            figures.add("Outage tickets in the account at declaration", len(expected))
            figures.add("Taken in at declaration (search export backfill)", report.taken_in,
                        report.taken_in == len(expected))
            figures.add("Left alone: solved/closed, agent requesters",
                        f"{report.skipped_solved} / {report.skipped_agent_requester}")
            # One write per ticket, its acknowledgement included: the target is 1.15 × the floor + 5.
            floor = math.ceil(report.taken_in / 100)
            figures.add("Bulk writes for declare, acknowledgements included (floor ⌈N/100⌉; target)",
                        f"{declare_writes} ({floor}; ≤ {1.15 * floor + 5:.0f})", declare_writes <= 1.15 * floor + 5)
            figures.add("Zendesk API calls for declare (writes, job polls, reads)", declare_calls)

            arrivals = _customers_write_in(sandbox.url, new_tickets, rng)
            solved_by_agents = _agents_solve(sandbox.url, token, sorted(expected)[:5])
            new_expected = {t for t, about_outage in arrivals.items() if about_outage}
            # Taken in, not merely recorded: a take-in in flight has not written its acknowledgement yet.
            _wait(lambda: desk.progress(report.incident_id).taken >= len(expected) + len(new_expected)
                  and _all_reopened(state, solved_by_agents), timeout=120)
            figures.add("New tickets arriving by signed webhook (about the outage / other)",
                        f"{len(new_expected)} / {len(arrivals) - len(new_expected)}")
            taken_by_webhook = desk.affected_count(report.incident_id) - report.taken_in
            figures.add("Taken in from webhooks", taken_by_webhook, taken_by_webhook == len(new_expected))
            affected = expected | new_expected
            kept_open = _tagged_and_open(state, affected, report.problem_ticket_id)
            figures.add("Tagged, linked and open during the outage", f"{kept_open} / {len(affected)}",
                        kept_open == len(affected))
            figures.add("Solved by an agent mid-outage, reopened", f"{len(solved_by_agents)}",
                        _all_reopened(state, solved_by_agents))

            with state.lock:
                acknowledged = Counter(e["ticket_id"] for e in state.emails)
                reachable = {t for t in affected if state.users[state.tickets[t]["requester_id"]].get("email")}
            figures.add("Acknowledged in their language during the outage (emails per ticket)",
                        f"{len(acknowledged)} ({', '.join(str(n) for n in sorted(set(acknowledged.values())))})",
                        set(acknowledged) == reachable and set(acknowledged.values()) == {1})

            incident = desk.incident(report.incident_id)
            dry = desk.resolve(incident, dry_run=True)
            emails_before = len(state.emails)
            calls_before = _api_calls(sandbox.url)
            closing = desk.resolve(desk.incident(report.incident_id))
            resolve_calls = _api_calls(sandbox.url) - calls_before
            for audience in ("abandoned", "unassigned", "assigned"):
                figures.add(f"Notified: {audience} (dry-run said)",
                            f"{closing.sent[audience]} ({dry.planned[audience]})",
                            closing.sent[audience] == dry.planned[audience])
            figures.add("Callback list: requesters without email", len(closing.callbacks),
                        len(closing.callbacks) == len(dry.callbacks))
            emails = Counter(e["ticket_id"] for e in state.emails[emails_before:])
            notified = {t for t in affected if t not in {c for c, _ in closing.callbacks}}
            per_ticket = Counter(emails.get(t, 0) for t in notified)
            figures.add("Closing emails per notified ticket (count of tickets)",
                        ", ".join(f"{n} email(s): {count}" for n, count in sorted(per_ticket.items())),
                        set(per_ticket) == {1})
            strays = sum(n for t, n in emails.items() if t not in notified)
            figures.add("Emails to anyone else (problem cascade, callbacks, other tickets)", strays, strays == 0)
            figures.add("Problem ticket solved (private note, no copy emailed)", closing.problem_solved,
                        closing.problem_solved)
            figures.add("Incident resolved: every reply settled", f"{closing.resolved} ({closing.pending} pending)",
                        closing.resolved and not closing.pending)
            again_before = len(state.emails)
            desk.resolve(desk.incident(report.incident_id))
            figures.add("Emails sent by a second resolve", len(state.emails) - again_before,
                        len(state.emails) == again_before)
            written = sum(closing.sent.values()) + len(closing.callbacks)
            figures.add("Zendesk API calls for resolve (floor ⌈N/100⌉)",
                        f"{resolve_calls} ({math.ceil(written / 100)})")
        finally:
            worker.shutdown(wait=False)
            service.shutdown()
            sandbox.shutdown()
            _dispose(desk)
    figures.add("Wall time", f"{time.monotonic() - began:.1f} s")
    _print(figures, console)
    return figures.ok


def _expected_outage_tickets(state: SandboxState, start) -> set[int]:
    """Ground truth, read from the sandbox itself: what declare must take in."""
    query = parse(QUERY)
    found = set()
    with state.lock:
        for ticket in state.tickets.values():
            requester = state.users.get(ticket["requester_id"]) or {}
            if (ticket["created_at"] >= start.strftime("%Y-%m-%dT%H:%M:%SZ") and ticket["status"] in UNSOLVED
                    and ticket.get("type") != "problem" and requester.get("role") == "end-user"
                    and query.matches(ticket, requester)):
                found.add(ticket["id"])
    return found


def _customers_write_in(sandbox_url: str, count: int, rng: random.Random) -> dict[int, bool]:
    """New tickets during the outage, most about it, over every channel; id -> about the outage."""
    created = {}
    languages = list(NEW_TICKET_TEXTS)
    for n in range(count):
        language = languages[n % len(languages)]
        about_outage = n % 10 != 9
        subject, description = NEW_TICKET_TEXTS[language] if about_outage else ("Invoice copy", "Could you resend it?")
        channel = ("email", "chat", "voice")[n % 3]
        body: dict = {"subject": subject, "description": description, "channel": channel}
        if channel == "voice" and n % 2:
            body["requester"] = {"name": f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
                                         f"{rng.randint(10, 99)}", "phone": f"+3361{rng.randint(1000000, 9999999)}",
                                 "locale": "fr"}
            body["tags"] = ["voice_abandoned_in_queue"] if n % 4 == 1 else []
            body["voice_rel"] = "inbound"
        else:
            body["requester"] = {"name": f"Client {n}", "email": f"new-client-{n}@example.org", "locale": language}
        response = requests.post(f"{sandbox_url}/_sandbox/tickets", json=body, timeout=10)
        response.raise_for_status()
        created[response.json()["id"]] = about_outage
    return created


def _agents_solve(sandbox_url: str, token: str, ticket_ids: list[int]) -> list[int]:
    """Agents solving outage tickets too early, as they would in Zendesk's agent workspace."""
    auth = (f"{API_EMAIL}/token", token)
    for ticket_id in ticket_ids:
        requests.put(f"{sandbox_url}/api/v2/tickets/{ticket_id}.json", auth=auth, timeout=10, json={
            "ticket": {"status": "solved", "assignee_id": 1, "comment": {"body": "Fixed?", "public": False}}},
        ).raise_for_status()
    return ticket_ids


def _all_reopened(state: SandboxState, ticket_ids: list[int]) -> bool:
    with state.lock:
        return all(state.tickets[t]["status"] == "open" for t in ticket_ids)


def _tagged_and_open(state: SandboxState, ticket_ids: set[int], problem_id: int) -> int:
    with state.lock:
        return sum(1 for t in ticket_ids if "api_down" in state.tickets[t]["tags"]
                   and state.tickets[t]["status"] == "open" and state.tickets[t].get("problem_id") == problem_id)


def _api_calls(sandbox_url: str) -> int:
    return requests.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()["api_calls"]


def _bulk_writes(sandbox_url: str) -> int:
    by_endpoint = requests.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()["by_endpoint"]
    return by_endpoint.get("PUT /api/v2/tickets/update_many", 0)


def _wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)


def _dispose(desk: OutageDesk) -> None:
    desk.sessions.kw["bind"].dispose()


def _print(figures: Figures, console: Console) -> None:
    table = Table("figure", "value", "check", title="Outage Desk demo")
    for name, value, ok in figures.rows:
        table.add_row(name, value, "" if ok is None else ("[green]ok[/]" if ok else "[red]FAIL[/]"))
    console.print(table)
