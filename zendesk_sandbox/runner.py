"""`python -m zendesk_sandbox` and `outage-desk sandbox`: serve a seeded sandbox until interrupted."""

from __future__ import annotations

import argparse
import os
import shlex
import threading
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console

from zendesk_sandbox.faults import Faults
from zendesk_sandbox.seed import load_macros, seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

SANDBOX_EMAIL = "outage-desk-api@example.com"
# A local stand-in's own credential, not a secret of any real account.
SANDBOX_TOKEN = "sandbox-token"
# The token the account's Chat OAuth client issued: the Chat API takes no other.
SANDBOX_CHAT_TOKEN = "sandbox-chat-token"
# Flag names differ from the Faults field names only where a field name alone would be unclear.
FLAG_NAMES = {"seed": "--fault-seed"}
SEED = 7
# How long before the sandbox starts its seeded outage began.
OUTAGE_AGE = timedelta(hours=3)


def _say(console: Console, line: str) -> None:
    """One line as is, however narrow the terminal: a wrapped command breaks when pasted."""
    console.print(line, soft_wrap=True, markup=False, highlight=False, emoji=False)


def export_lines(url: str, referent_id: int) -> list[str]:
    """One `export NAME=value` per variable Outage Desk needs to reach the sandbox at `url`."""
    variables = {
        "ZENDESK_URL": url,
        "ZENDESK_SUBDOMAIN": "sandbox",
        "ZENDESK_EMAIL": SANDBOX_EMAIL,
        "OUTAGE_DESK_REFERENT": str(referent_id),
        "OUTAGE_DESK_CHAT_OAUTH_TOKEN": SANDBOX_CHAT_TOKEN,
    }
    # A token of the operator's own (ZENDESK_API_TOKEN set when the sandbox starts) is never printed.
    if not os.environ.get("ZENDESK_API_TOKEN"):
        variables["ZENDESK_API_TOKEN"] = SANDBOX_TOKEN
    return [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]


def declare_line(start: datetime) -> str:
    """The `declare` that takes in every ticket of the seeded outage: all of them came in since `start`."""
    since = start.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"outage-desk declare --title 'API down' --query API --since {since}"


def parser(prog: str = "python -m zendesk_sandbox") -> argparse.ArgumentParser:
    """The command line: port, seed size, rate limit, and one flag per Faults setting."""
    parsed = argparse.ArgumentParser(prog=prog, description="Serve a Zendesk sandbox seeded with an outage.")
    parsed.add_argument("--port", type=int, default=8089, help="default: %(default)s")
    parsed.add_argument(
        "--env",
        action="store_true",
        help="print only the `export` lines for a sandbox on --port, and exit: eval \"$(... --env)\" in the shell"
        " that runs Outage Desk while the sandbox runs in another",
    )
    parsed.add_argument("--tickets", type=int, default=600, help="seed a realistic outage of this size")
    parsed.add_argument("--rate-limit", type=int, default=700, help="requests per minute (default: %(default)s)")
    parsed.add_argument(
        "--index-lag", type=float, default=10.0, help="seconds before search sees a write (default: %(default)s)"
    )
    parsed.add_argument("--macros", type=Path, help="a folder of {\"macro\": {...}} JSON files already in the account")
    parsed.add_argument(
        "--plain-macros",
        action="store_true",
        help="keep those macros' comments as comment_value, as the API wrote them (default: as the editor saves them)",
    )
    faults = parsed.add_argument_group(
        "injected faults", "rates from 0 to 1: of API requests, or of job items for --item-failure-rate"
    )
    for setting in fields(Faults):
        flag = FLAG_NAMES.get(setting.name, "--" + setting.name.replace("_", "-"))
        kind = int if setting.type == "int" else float
        faults.add_argument(flag, dest=setting.name, type=kind, default=setting.default, help="default: %(default)s")
    return parsed


def main(argv: Sequence[str] | None = None, console: Console | None = None, prog: str | None = None) -> None:
    """Parse `argv` and serve until Ctrl-C."""
    command = parser(prog) if prog else parser()
    args = command.parse_args(argv)
    try:
        faults = Faults(**{setting.name: getattr(args, setting.name) for setting in fields(Faults)})
    except ValueError as error:
        command.error(str(error))
    macros = load_macros(args.macros) if args.macros else []
    if args.env:
        # The seed is fixed, so a sandbox started with the same flags has these same accounts.
        summary = seed_outage(SandboxState(api_email=SANDBOX_EMAIL), tickets=args.tickets, seed=SEED,
                              start=datetime.now(timezone.utc) - OUTAGE_AGE)
        for line in export_lines(f"http://127.0.0.1:{args.port}", summary.referent_id):
            _say(console or Console(), line)
        return
    run_forever(
        args.port, args.tickets, args.rate_limit, console or Console(), faults=faults, macros=macros,
        index_lag=args.index_lag, rich_text_macros=not args.plain_macros, prog=command.prog,
    )


def run_forever(
    port: int,
    tickets: int,
    rate_limit: int,
    console: Console,
    *,
    faults: Faults | None = None,
    macros: list[dict] | None = None,
    index_lag: float = 10.0,
    rich_text_macros: bool = True,
    prog: str = "python -m zendesk_sandbox",
) -> None:
    """Seed an outage (with `macros` already in the account), serve it on 127.0.0.1:`port`, and print how to use it."""
    state = SandboxState(api_email=SANDBOX_EMAIL)
    start = datetime.now(timezone.utc) - OUTAGE_AGE
    summary = seed_outage(
        state, tickets=tickets, seed=SEED, start=start, macros=macros or [], rich_text_macros=rich_text_macros
    )
    token = os.environ.get("ZENDESK_API_TOKEN") or SANDBOX_TOKEN
    app = create_sandbox_app(
        state,
        email=SANDBOX_EMAIL,
        api_token=token,
        rate_limit_per_minute=rate_limit,
        index_delay=index_lag,
        faults=faults,
        chat_oauth_token=SANDBOX_CHAT_TOKEN,
    )
    server = serve_sandbox(app, port=port)
    _say(console, f"Sandbox Zendesk at {server.url}: {summary.tickets} tickets, {rate_limit} requests/minute,"
                  f" search {index_lag:g} s behind.")
    if faults is not None and faults != Faults():
        _say(console, f"Injected faults: {faults.as_json()} (GET/POST {server.url}/_sandbox/faults)")
    _say(console, f"Point Outage Desk at it, one line each (or in any shell: eval \"$({prog} --env --port {port})\"):")
    for line in export_lines(server.url, summary.referent_id):
        _say(console, f"  {line}")
    _say(console, f"The seeded outage began at {start:%Y-%m-%d %H:%M:%S} UTC ({len(summary.outage_ticket_ids)} outage"
                  " tickets since then); declare it with:")
    _say(console, f"  {declare_line(start)}")
    _say(console, "Then create the webhook and triggers as on a real account (webhooks reach the service only when a"
                  " trigger calls them): outage-desk setup --service-url http://127.0.0.1:8000")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Sandbox stopped.")
    finally:
        server.shutdown()
