"""Act one: the big outage, declared from the CLI over the seeded flood and resolved by it."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import datetime

import requests

from app.demo.stage import Stage, wait
from app.incident.model import UNSOLVED, IncidentSpec
from app.zendesk.query import parse
from zendesk_sandbox.state import SandboxState

QUERY = "API"
NEW_TICKET_TEXTS = {
    "fr": ("L'API ne répond plus", "Bonjour, l'API renvoie une erreur 503 depuis ce matin."),
    "en-US": ("API down again?", "Hi, every API call fails with a 503 since this morning."),
    "es": ("La API está caída", "Hola, la API devuelve un error 503 desde esta mañana."),
    "ru": ("API не работает", "Здравствуйте, API возвращает ошибку 503 с утра."),
    "de": ("API nicht erreichbar", "Hallo, die API antwortet seit heute Morgen mit 503."),
}


def play_main_outage(stage: Stage, start: datetime, new_tickets: int) -> None:
    """Act one: declared from the CLI over the seeded flood, webhooks during it, resolved by the CLI."""
    state, desk, figures, console = stage.state, stage.desk, stage.figures, stage.console
    rng = random.Random(11)
    figures.section("Act one: the outage declared from the CLI")
    expected = _expected_outage_tickets(state, start)
    console.print(f"[bold]Seeded[/] {len(state.tickets)} tickets; {len(expected)} are about the outage.")

    calls_before, writes_before = stage.api_calls(), stage.bulk_writes()
    report = desk.declare(IncidentSpec(title="API down: 503 on every call", query=QUERY, started_at=start,
                                       severity=2))
    declare_calls = stage.api_calls() - calls_before
    declare_writes = stage.bulk_writes() - writes_before
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

    arrivals = _customers_write_in(stage, new_tickets, rng)
    solved_by_agents = _agents_solve(stage, sorted(expected)[:5])
    new_expected = {t for t, about_outage in arrivals.items() if about_outage}
    # Taken in, not merely recorded: a take-in in flight has not written its acknowledgement yet.
    wait(lambda: desk.progress(report.incident_id).taken >= len(expected) + len(new_expected)
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
    calls_before = stage.api_calls()
    closing = desk.resolve(desk.incident(report.incident_id))
    resolve_calls = stage.api_calls() - calls_before
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


def _customers_write_in(stage: Stage, count: int, rng: random.Random) -> dict[int, bool]:
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
        created[stage.new_ticket(body)] = about_outage
    return created


def _agents_solve(stage: Stage, ticket_ids: list[int]) -> list[int]:
    """Agents solving outage tickets too early, as they would in Zendesk's agent workspace."""
    for ticket_id in ticket_ids:
        requests.put(f"{stage.sandbox_url}/api/v2/tickets/{ticket_id}.json", auth=stage.auth, timeout=10, json={
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
