"""The `outage-desk` command: one plain line and a non-zero exit for every error."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from click.exceptions import NoArgsIsHelpError  # click 8.2+: the group alone raises it to show its help
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from app.config import DEFAULT_CR_VALUE, Config, load_config
from app.errors import InputError, OutageDeskError, StateError
from app.incident.maintenance import DEFAULT_DURATION, WindowSpec, next_default_start, parse_duration
from app.incident.model import IncidentSpec, Kind
from app.incident.update_message import message_from_file
from app.logs import configure_logging
from app.web_server import ServerSettings, serve_wsgi

# Text as written, never markup or emoji codes: titles, queries, phones and reasons come from customers
# and Zendesk, where "[/x]" would crash rich and "[bold]" swallow what follows. Our own lines use neither.
console = Console(stderr=False, markup=False, emoji=False)


def _progress() -> Progress:
    stderr = Console(stderr=True)
    # Off when stderr is not a terminal: rich would still end its display with a stray blank line there.
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=stderr, transient=True, disable=not stderr.is_terminal)


def _parse_time(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC now, as the store keeps it: 9999-12-31T23:59-01:00 is past datetime's end there.
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        raise InputError(f"{option} must be an ISO 8601 time such as 2026-11-22T10:00:00Z") from None


@click.group()
@click.option("--database-url", help="Store URL (default: a SQLite file; env DATABASE_URL).")
@click.option("--cr-field", help="Contact-reason drop-down: id or title (env OUTAGE_DESK_CR_FIELD).")
@click.option("--impact-field", help="Business-impact drop-down: id or title (env OUTAGE_DESK_IMPACT_FIELD).")
@click.option("--closing-macro", help="Closing macro: id, or title of '<title> (<lang>)' variants.")
@click.option("--ack-macro", help="Acknowledgement macro: id or title, or off (env OUTAGE_DESK_ACK_MACRO).")
@click.option("--referent", help="Product referent: user id or email (env OUTAGE_DESK_REFERENT).")
@click.pass_context
def cli(ctx: click.Context, database_url, cr_field, impact_field, closing_macro, ack_macro, referent) -> None:
    """Run a support team's outage process on Zendesk."""
    configure_logging(logging.WARNING, plain=True)
    # The flags only: each command reads the configuration it needs (with_config) once its own
    # arguments are parsed, so `--help` and the commands that need none work without any.
    ctx.obj = dict(database_url=database_url, outage_desk_cr_field=cr_field, outage_desk_impact_field=impact_field,
                   outage_desk_closing_macro=closing_macro, outage_desk_ack_macro=ack_macro,
                   outage_desk_referent=referent)


def with_config(zendesk: bool, required: tuple[str, ...] = ()) -> Callable:
    """Pass the command its Config first, checked for everything it needs at once: the store always,
    Zendesk's settings if it calls Zendesk (`zendesk`), and the `required` fields."""
    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def run(*args, **kwargs):
            flags = click.get_current_context().obj
            return command(load_config(overrides=flags, zendesk=zendesk, required=required), *args, **kwargs)
        return run
    return decorate


def outage_options(tag: str, query_required: bool = True) -> Callable:
    """The options that say which outage is declared, and how its tickets are found and marked: declare's,
    and schedule's for the incident its window declares."""
    options = (
        click.option("--query", required=query_required, help="Zendesk search query for affected tickets, e.g. 'API'."),
        click.option("--severity", type=click.IntRange(1, 4), default=2, show_default=True,
                     help="Urgency level: 1 urgent, 2 high, 3 normal, 4 low."),
        click.option("--tag", default=tag, show_default=True, help="Tag for affected tickets (no spaces)."),
        click.option("--cr-value", default=DEFAULT_CR_VALUE, show_default=True, help="Contact-reason option."),
    )

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


@cli.command()
@click.option("--title", required=True, help="What is down, as agents and customers would say it.")
@click.option("--since", help="Start of the outage, ISO 8601 (default: one hour ago).")
@click.option("--kind", type=click.Choice([k.value for k in Kind]), default=Kind.UNPLANNED.value, show_default=True)
@outage_options(tag="api_down")
@with_config(zendesk=True)
def declare(config: Config, title, query, since, severity, kind, tag, cr_value) -> None:
    """Declare an outage: create its problem ticket and take in every matching ticket."""
    from app.wiring import build_desk

    started = _parse_time(since, "--since") if since else datetime.now(timezone.utc) - timedelta(hours=1)
    spec = IncidentSpec(title=title, query=query, started_at=started, severity=severity, kind=Kind(kind),
                        tag=tag, cr_value=cr_value)
    desk = build_desk(config)
    with _progress() as progress:
        task = progress.add_task("Tagging affected tickets", total=None)
        report = desk.declare(spec, on_progress=lambda n: progress.advance(task, n))
    taken = (f"{report.taken_in} more tickets taken in ({desk.progress(report.incident_id).taken} in all)"
             if report.resumed else f"{report.taken_in} tickets taken in")
    verb = "Finished declaring" if report.resumed else "Declared"
    unacknowledged = desk.no_acknowledgement_reason()
    acknowledged = (f"no acknowledgement went out: {unacknowledged}" if unacknowledged
                    else f"{report.acknowledged} customers acknowledged")
    console.print(f"{verb} incident #{report.incident_id} (problem ticket #{report.problem_ticket_id}): "
                  f"{taken} ({acknowledged}), "
                  f"{report.skipped_solved} solved and {report.skipped_agent_requester} from agents left alone; "
                  f"{desk.gateway.calls} Zendesk API calls.")
    _print_tickets("not taken in yet, the worker retries them", report.retrying)
    _print_tickets("cannot be taken in", report.given_up)


def _print_tickets(what: str, reasons: dict[int, str]) -> None:
    if reasons:
        console.print(f"{len(reasons)} tickets {what}:")
        for ticket_id, reason in sorted(reasons.items()):
            console.print(f"  ticket #{ticket_id}: {reason}")


@cli.command()
@click.argument("ticket_ids", nargs=-1, type=click.IntRange(min=1), required=True)
@click.option("--incident", "incident_id", type=int, help="Incident number (default: the active one).")
@with_config(zendesk=True)
def attach(config: Config, ticket_ids, incident_id) -> None:
    """Take tickets into the active incident by id, with the same changes as the backfill."""
    from app.wiring import build_desk

    desk = build_desk(config)
    incident = desk.incident(incident_id)
    taken, failed = desk.attach(incident, ticket_ids)
    console.print(f"Incident #{incident.id}: {taken} tickets taken in.")
    for ticket_id, reason in sorted(failed.items()):
        console.print(f"  ticket #{ticket_id} not taken in: {reason}")
    if failed:
        sys.exit(1)


@cli.command()
@with_config(zendesk=False)
def status(config: Config) -> None:
    """Show suspected and active incidents, how many tickets each took in, and who changed their state."""
    from app.wiring import build_desk

    desk = build_desk(config, zendesk=False)
    incidents = desk.active_incidents()
    suspected = desk.suspected_incidents()
    _print_checklist(desk)
    _print_aftercare(desk)
    if not incidents and not suspected:
        console.print("No active incident.")
        return
    if suspected:
        _print_suspected(desk, suspected)
    if incidents:
        _print_active(desk, incidents)
    for incident in suspected + incidents:
        console.print(f"Incident #{incident.id}: " + ", ".join(
            f"{change.to_state} by {change.changed_by} at {change.changed_at.isoformat(timespec='seconds')}"
            for change in desk.state_changes(incident.id)))
    for incident in incidents:
        phone = desk.voice.summary(incident.id)
        if phone:
            console.print(f"Incident #{incident.id} phone: {phone}")


def _when(moment: datetime) -> str:
    """A time in a table: to the minute, in UTC, 16 characters that fit beside seven other columns."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def _print_checklist(desk) -> None:
    """Agent settings an admin still has to change by hand, of any incident (a resolved one's too)."""
    for item in desk.agent_settings.unticked():
        console.print(f"Incident #{item.incident_id}, not ticked yet ({item.phase}): {item.text}")


def _print_aftercare(desk) -> None:
    """How many customers recent outages hurt, whose new tickets are raised one level."""
    marks = desk.aftercare.marks()
    if marks:
        people = sum(1 for mark in marks if mark.kind == "requester")
        console.print(f"In aftercare: {people} requesters and {len(marks) - people} organisations, "
                      f"the first leaving on {marks[0].until.date().isoformat()}.")


def _print_suspected(desk, suspected) -> None:
    table = Table("#", "subject", "tickets", Column("first (UTC)", no_wrap=True), Column("last (UTC)", no_wrap=True),
                  title="Suspected outages: confirm or dismiss in the sidebar")
    for incident in suspected:
        seen = [_when(row.seen_at) for row in desk.cluster(incident).sightings]
        table.add_row(str(incident.id), incident.subject_key or "-", str(len(seen)), seen[0] if seen else "-",
                      seen[-1] if seen else "-")
    console.print(table)


def _print_active(desk, incidents) -> None:
    # Eight columns in 80: the times in minutes, whole (no_wrap), the words folded around them.
    table = Table("#", "title", "state", "tag", Column("since (UTC)", no_wrap=True), "tickets", "problem ticket",
                  "closing replies")
    for incident in incidents:
        progress = desk.progress(incident.id)
        replies = (f"{progress.notified} sent, {progress.callbacks} call-backs, {progress.pending} to go"
                   if incident.state == "resolving" else "-")
        table.add_row(str(incident.id), incident.title, incident.state, incident.tag, _when(incident.started_at),
                      f"{progress.taken} taken in, {progress.retrying} retrying", str(incident.problem_ticket_id or "-"),
                      replies)
    console.print(table)
    for incident in incidents:
        progress = desk.progress(incident.id)
        _print_tickets(f"of incident #{incident.id} cannot be taken in", progress.take_ins_given_up)
        _print_tickets(f"of incident #{incident.id} cannot be notified", progress.replies_given_up)
        waiting = desk.status_page.awaiting_confirmation(incident.id)
        if waiting is not None:
            console.print(f"Incident #{incident.id}: the status page said resolved at {waiting.confirm_asked_at:%H:%M} UTC; "
                          "an admin or the product referent confirms the resolve in the sidebar.")
        update = desk.interim.latest(incident.id)
        if update is not None:
            console.print(f"Incident #{incident.id}, last update #{update.update_id} at {update.created_at:%H:%M} UTC: "
                          f"{sum(update.sent.values())} sent, {update.pending} to go, {len(update.skipped)} skipped.")
            _print_tickets(f"cannot get update #{update.update_id}", update.given_up)


@cli.command()
@click.option("--incident", "incident_id", type=int, help="Incident number (default: the active one).")
@click.option("--dry-run", is_flag=True, help="Print the counts per group; send nothing.")
@with_config(zendesk=True, required=("outage_desk_referent",))
def resolve(config: Config, incident_id, dry_run) -> None:
    """Send the closing macro to every affected ticket, exactly once, and solve the problem ticket."""
    from app.wiring import build_desk

    desk = build_desk(config)
    incident = desk.incident_to_resolve(incident_id)
    with _progress() as progress:
        task = progress.add_task("Sending closing replies", total=None)
        report = desk.resolve(incident, dry_run=dry_run, on_progress=lambda n: progress.advance(task, n))
    table = Table("group", "to notify" if dry_run else "notified", title=f"Incident #{incident.id}")
    for audience in ("abandoned", "unassigned", "assigned"):
        count = report.planned[audience] if dry_run else report.sent[audience]
        table.add_row(audience, str(count))
    console.print(table)
    if report.callbacks:
        console.print(f"Callback list ({len(report.callbacks)} requesters without email; their tickets stay open):")
        for ticket_id, phone in report.callbacks:
            console.print(f"  ticket #{ticket_id}: {phone}")
    _print_tickets("cannot be notified", report.given_up)
    if dry_run:
        return
    if report.pending:
        when = f" (next try {report.next_retry:%H:%M:%S} UTC)" if report.next_retry else ""
        console.print(f"Incident #{incident.id} is still resolving: {report.pending} closing replies not sent yet{when}. "
                      "The worker finishes them; or run `outage-desk resolve` again.")
        sys.exit(1)
    if not report.resolved:
        console.print(f"Incident #{incident.id} is still resolving: its problem ticket is not solved yet. "
                      "The worker finishes it; or run `outage-desk resolve` again.")
        sys.exit(1)
    console.print(f"Incident #{incident.id} is resolved.")


@cli.command("update")
@click.option("--message-file", help='The update: JSON texts by language {"en": "…", "fr": "…"}, or plain text '
              "in the default language (OUTAGE_DESK_DEFAULT_LANGUAGE).")
@click.option("--macro", "macro_title", help="Or a macro: id, or title of '<title> (<lang>)' variants.")
@click.option("--incident", "incident_id", type=int, help="Incident number (default: the active one).")
@click.option("--dry-run", is_flag=True, help="Print the counts per language; send nothing.")
@click.option("--force", is_flag=True, help="Send even within OUTAGE_DESK_UPDATE_INTERVAL_MINUTES of the last update.")
@with_config(zendesk=True, required=("outage_desk_referent",))
def update_(config: Config, message_file, macro_title, incident_id, dry_run, force) -> None:
    """Send an interim update to every linked, unsolved ticket, once each, in its requester's language."""
    from app.incident.update_message import message_from_macro
    from app.wiring import build_desk

    if (message_file is None) == (macro_title is None):
        raise InputError("name the update's text: --message-file FILE or --macro TITLE")
    message = (message_from_file(message_file, config.outage_desk_default_language) if message_file
               else message_from_macro(macro_title))
    desk = build_desk(config)
    incident = desk.incident(incident_id)
    report = desk.interim.preview(incident, message) if dry_run else desk.post_update(incident, message, force=force)
    table = Table("language", "to send" if dry_run else "sent", title=f"Incident #{incident.id}")
    for language, count in sorted(report.planned.items()):
        table.add_row(language or "(one macro)", str(count if dry_run else report.sent[language]))
    console.print(table)
    reasons = Counter(reason.split(":", 1)[0] for reason in report.skipped.values())
    if reasons:
        console.print(f"{len(report.skipped)} tickets skipped: "
                      + ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items())) + ".")
    _print_tickets("cannot get the update", report.given_up)
    if not dry_run:
        sent = sum(report.sent.values())
        console.print(f"Update #{report.update_id} of incident #{incident.id}: {sent} replies sent.")
    if report.pending:
        when = f" (next try {report.next_retry:%H:%M:%S} UTC)" if report.next_retry else ""
        console.print(f"{report.pending} replies not sent yet{when}. "
                      "The worker finishes them; or run the same command again.")
        sys.exit(1)


@cli.command()
@click.option("--title", help="What the maintenance stops, as agents and customers would say it.")
@click.option("--start", help="Start, ISO 8601 (default: the next Saturday at 02:00 in the account's time zone).")
@click.option("--duration", default=DEFAULT_DURATION, show_default=True, help="How long: 20m, 1h, 1h30m.")
@click.option("--force", is_flag=True, help="Allow a window longer than 20 minutes.")
@click.option("--notice", "notice_file", help="Message file, as `update --message-file` takes: sent now as an "
              "advance notice to the open tickets of --query.")
@click.option("--list", "list_windows", is_flag=True, help="List the maintenance windows and where each stands.")
@click.option("--cancel", "cancel_id", type=click.IntRange(1, 2**63 - 1), help="Cancel window N before its start.")
@outage_options(tag="maintenance", query_required=False)
@with_config(zendesk=False)
def schedule(config: Config, title, start, duration, force, notice_file, list_windows, cancel_id, query, severity,
             tag, cr_value) -> None:
    """Schedule a maintenance: the worker declares it (kind scheduled) at its start and resolves it at its end."""
    from app.wiring import build_desk

    if list_windows or cancel_id:
        given = [flag for flag, value in (("--title", title), ("--start", start), ("--query", query),
                                          ("--notice", notice_file), ("--force", force)) if value]
        if given or (list_windows and cancel_id):
            raise InputError("--list and --cancel N go alone")
        desk = build_desk(config, zendesk=False)
        if cancel_id:
            window = desk.maintenance.cancel(cancel_id)
            console.print(f"Maintenance #{window.id} \"{window.title}\" is cancelled: nothing will be declared.")
        else:
            _print_windows(desk)
        return
    if not title or not query:
        raise InputError("name the maintenance and its tickets: --title T --query Q (or --list, --cancel N)")
    duration_ = parse_duration(duration)
    message = message_from_file(notice_file, config.outage_desk_default_language) if notice_file else None
    needs_zendesk = start is None or message is not None
    if needs_zendesk:
        config.require_zendesk()
    if message is not None:
        config.require("outage_desk_referent")
    desk = build_desk(config, zendesk=needs_zendesk)
    zone = None if start else desk.gateway.account_time_zone()
    starts_at = _parse_time(start, "--start") if start else next_default_start(desk.clock.now(), zone)
    spec = WindowSpec(title=title, query=query, tag=tag, severity=severity, cr_value=cr_value, starts_at=starts_at,
                      duration=duration_)
    notices = []
    window = desk.maintenance.schedule(spec, force=force, also=None if message is None else (
        lambda session, row: notices.append(desk.interim.post_notice(session, row, message))))
    local = f" ({window.starts_at.astimezone(zone):%A %H:%M} in the account's time zone, {zone.key})" if zone else ""
    console.print(f"Scheduled maintenance #{window.id} \"{window.title}\": "
                  f"{window.starts_at:%Y-%m-%d %H:%M}–{window.ends_at:%H:%M} UTC{local}. The worker declares it "
                  "at its start and resolves it at its end.")
    if notices:
        report = desk.interim.run(notices[0])
        console.print(f"Advance notice: {sum(report.sent.values())} replies sent to the open tickets of "
                      f"{query!r}, {len(report.skipped)} skipped.")
        _print_tickets("cannot get the notice", report.given_up)
        if report.pending:
            console.print(f"{report.pending} notices not sent yet: the worker finishes them.")
            sys.exit(1)


def _print_windows(desk) -> None:
    from app.incident.maintenance import window_state

    windows = desk.maintenance.windows()
    if not windows:
        console.print("No maintenance scheduled.")
        return
    now = desk.clock.now()
    table = Table("#", "title", Column("start (UTC)", no_wrap=True), Column("end (UTC)", no_wrap=True), "state",
                  "incident", "tag", "notice",
                  title="Scheduled maintenance")
    for window in windows:
        notice = desk.interim.notice_of(window.id)
        table.add_row(str(window.id), window.title, _when(window.starts_at),
                      _when(window.ends_at), window_state(window, now),
                      f"#{window.incident_id}" if window.incident_id else "-", window.tag,
                      f"{sum(notice.sent.values())} sent, {notice.pending} to go" if notice else "-")
    console.print(table)
    for window in windows:
        if window.detail:
            console.print(f"Maintenance #{window.id}: {window.detail}")


@cli.command()
@click.option("--incident", "incident_id", type=int,
              help="Incident number (default: the active one, else the last resolved).")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@with_config(zendesk=True)
def report(config: Config, incident_id, fmt, output) -> None:
    """The incident's report: volume over time, channels and groups, time to acknowledge and notify, who was notified."""
    from app.private_files import open_private
    from app.wiring import build_desk

    desk = build_desk(config)
    incident = desk.incident(incident_id) if incident_id is not None else desk.latest_incident()
    if incident is None:
        raise StateError("no incident yet: nothing to report")
    found = desk.report(incident)
    rendered = {"html": found.as_html, "csv": found.as_csv,
                "json": lambda: json.dumps(found.as_json(), indent=2, ensure_ascii=False) + "\n"}[fmt]()
    if output:
        with open_private(Path(output), "w", encoding="utf-8") as file:
            file.write(rendered)
        console.print(f"Report of incident #{incident.id} ({len(found.lines)} tickets) written to {output}.")
    else:
        click.echo(rendered, nl=False)


@cli.command()
@with_config(zendesk=True)
def redactions(config: Config) -> None:
    """Secrets found in customers' comments: redacted and noted, in progress, or given up and why."""
    from app.wiring import build_desk

    rows = build_desk(config).redaction.ledger()
    if not rows:
        console.print("No secret found in customers' comments yet.")
    for row in rows:
        line = f"ticket #{row.ticket_id} comment #{row.comment_id}: {row.kinds} - {row.state}"
        console.print(line + (f" ({row.detail})" if row.state == "given_up" and row.detail else ""))


@cli.command()
@click.option("--service-url", required=True, help="Public base URL of the Outage Desk service (https://...).")
@click.option("--tag", default="api_down", show_default=True, help="Outage tag the triggers watch.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@with_config(zendesk=True)
def setup(config: Config, service_url, tag, dry_run) -> None:
    """Create or update the fields, webhook, triggers, macros and Talk greetings Outage Desk needs, idempotently."""
    from app.store.secrets import SecretBox
    from app.store.settings import WEBHOOK_SIGNING_SECRET, save_secret
    from app.wiring import build_desk
    from app.zendesk.provisioning import Provisioner

    box = SecretBox(config.outage_desk_secret_key)  # checked before anything is written to Zendesk
    desk = build_desk(config)
    provisioner = Provisioner(desk.gateway, config, service_url, tag=tag)
    plan = provisioner.plan()
    for note in plan.notes:
        console.print(f"Note: {note}")
    if not plan.changes:
        console.print("Nothing to change: the account is already set up for Outage Desk.")
    for step in plan.changes:
        console.print(("would " if dry_run else "") + step.describe())
    if dry_run:
        return
    learnt = provisioner.apply(plan)
    if "webhook_secret" in learnt:
        save_secret(desk.sessions, box, WEBHOOK_SIGNING_SECRET, learnt["webhook_secret"])
    if plan.changes:
        console.print(f"Done: {len(plan.changes)} changes. The webhook's signing secret is stored for `serve`.")


@cli.command("status-webhook")
@click.option("--service-url", required=True, help="Public base URL of the Outage Desk service (https://...).")
@click.option("--rotate", is_flag=True, help="Make a new token, hence a new URL; `serve` takes it at its next start.")
@with_config(zendesk=False)
def status_webhook(config: Config, service_url, rotate) -> None:
    """Print the URL to give the status page as its webhook; its secret token is made once and stored encrypted."""
    from app.intake.status_token import StatusToken
    from app.store.secrets import SecretBox
    from app.store.settings import STATUS_WEBHOOK_TOKEN, load_secret, save_secret
    from app.wiring import build_sessions

    if not service_url.startswith(("https://", "http://")):
        raise InputError("--service-url must start with https:// (or http:// for a local test)")
    box = SecretBox(config.outage_desk_secret_key)
    sessions = build_sessions(config)
    token = None if rotate else load_secret(sessions, box, STATUS_WEBHOOK_TOKEN)
    if token is None:
        token = StatusToken.new()
        save_secret(sessions, box, STATUS_WEBHOOK_TOKEN, token)
    # The URL is the secret, as keygen's key is: printed for the admin to paste, never logged.
    click.echo(f"{service_url.rstrip('/')}/webhooks/status/{token}")


@cli.command()
def keygen() -> None:
    """Print a new OUTAGE_DESK_SECRET_KEY: it encrypts the secrets `setup` stores."""
    from app.store.secrets import SecretBox

    click.echo(SecretBox.new_key())


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="dist", show_default=True)
def package(out_dir) -> None:
    """Validate the sidebar app offline and build the zip to upload to Zendesk."""
    from pathlib import Path

    from app.packaging import build_package
    from app.zendesk.provisioning import DEFINITIONS_ROOT

    zip_path = build_package(DEFINITIONS_ROOT, Path(out_dir))
    console.print(f"Built {zip_path}: upload it in Admin Center > Apps and integrations > Zendesk Support apps "
                  "> Upload private app, or run `zcli apps:create`.")


@cli.command()
@click.option("--bind", default=ServerSettings.bind, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=ServerSettings.workers, show_default=True,
              help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(min=1), default=ServerSettings.threads, show_default=True,
              help="Threads per worker: each serves one connection at a time, a slow client's too.")
@click.option("--timeout", type=click.IntRange(min=1), default=ServerSettings.timeout, show_default=True,
              help="Seconds before a worker that stopped responding is restarted.")
@click.option("--limit-request-line", type=click.IntRange(min=1), default=ServerSettings.limit_request_line,
              show_default=True, help="Longest request line, in bytes.")
@click.option("--limit-request-fields", type=click.IntRange(min=1), default=ServerSettings.limit_request_fields,
              show_default=True, help="Most headers in one request.")
@click.option("--limit-request-field-size", type=click.IntRange(min=1),
              default=ServerSettings.limit_request_field_size, show_default=True, help="Longest header, in bytes.")
@click.option("--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS", default=ServerSettings.forwarded_allow_ips,
              show_default=True, help="Reverse proxies whose X-Forwarded-* headers are trusted: comma-separated "
              "addresses, or * (env FORWARDED_ALLOW_IPS, as gunicorn's).")
@with_config(zendesk=False)
def serve(config: Config, **settings) -> None:
    """Run the web service (webhooks, sidebar API) under gunicorn; the jobs run in `outage-desk worker`."""
    from app.store.db import make_engine, upgrade
    from app.web import create_app

    configure_logging(logging.INFO)  # a server's log says what it did, not only what went wrong
    engine = make_engine(config.database_url)
    upgrade(engine)
    engine.dispose()
    # Fail here, in one line, on bad config rather than in every worker; then close its connections,
    # which forked workers must not share.
    create_app(config).extensions["outage_desk.sessions"].kw["bind"].dispose()
    serve_wsgi(ServerSettings(**settings), lambda: create_app(config))


@cli.command()
@click.option("--lease-seconds", type=click.IntRange(min=3), default=30, show_default=True,
              help="How long a worker that stopped (killed, frozen) blocks a standby before it takes over.")
@with_config(zendesk=True)
def worker(config: Config, lease_seconds) -> None:
    """Run the background worker (webhook events into incidents, sidebar tasks); a second one stands by."""
    from app.jobs.worker import run_worker

    configure_logging(logging.INFO)  # a server's log says what it did, not only what went wrong
    run_worker(config, timedelta(seconds=lease_seconds))


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def sandbox(options) -> None:
    """Run a local Zendesk-compatible sandbox seeded with an outage (--help lists its flags, faults included)."""
    from app.zendesk.provisioning import DEFINITIONS_ROOT
    from zendesk_sandbox.runner import main

    # The sandbox owns its flags, so `python -m zendesk_sandbox` and this command take the same ones;
    # the account starts with Outage Desk's macros unless --macros names another folder.
    main(["--macros", str(DEFINITIONS_ROOT / "macros"), *options], console=console, prog="outage-desk sandbox")


@cli.command()
@click.option("--tickets", type=int, default=600, show_default=True, help="Tickets in the seeded account.")
@click.option("--new-tickets", type=int, default=60, show_default=True, help="Tickets arriving by webhook.")
def demo(tickets, new_tickets) -> None:
    """Play a whole outage against the sandbox and print what each customer received."""
    from app.demo import run_demo

    # The demo styles its own lines, and prints only what it seeded.
    if not run_demo(tickets=tickets, new_tickets=new_tickets, console=Console()):
        sys.exit(1)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def main() -> None:
    """Entry point: maps our errors to one line and an exit code, once."""
    # What this process creates without a mode of its own (folders, other libraries' files) is its user's alone.
    os.umask(0o077)
    if not all(_is_utf8(arg) for arg in sys.argv[1:]):
        # A terminal in another encoding: Python hands the bytes over as surrogates, which no store takes.
        _fail(InputError("an argument is not UTF-8 text: set the terminal to UTF-8"))
    try:
        cli.main(prog_name="outage-desk", standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()  # `outage-desk` alone asks for the help, which is no error message
        sys.exit(error.exit_code)
    except click.UsageError as error:
        # click's own four lines (usage, hint, blank, error) as one: what was wrong, and where the help is.
        path = error.ctx.command_path if error.ctx else "outage-desk"
        click.echo(f"{path}: {_plain(error.format_message())} (see {path} --help)", err=True)
        sys.exit(error.exit_code)
    except click.ClickException as error:
        click.echo(f"outage-desk: {_plain(error.format_message())}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("outage-desk: aborted", err=True)
        sys.exit(1)
    except OutageDeskError as error:
        _fail(error)


def _fail(error: OutageDeskError) -> None:
    """The one line of an error, with what to do next when there is something to do, and its exit code."""
    message = " ".join(str(error).split())  # one line, whatever a reason from Zendesk holds
    step = error.next_step
    click.echo(f"outage-desk: {message}" + (f"; {step}" if step else ""), err=True)
    sys.exit(error.exit_code)


def _plain(message: str) -> str:
    """click's "Missing option '--query'." as part of a line: lower case first, no full stop."""
    message = " ".join(message.split()).rstrip(".")
    return message[:1].lower() + message[1:]
