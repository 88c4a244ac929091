"""`outage-desk demo`: outages played against the sandbox, checked customer by customer.

Act one is the big outage, declared from the CLI and resolved by it. Act two is the runbook's other path:
customers write in about something new, detection suspects an outage, the product referent confirms it in
the sidebar, an admin posts an interim update, the phone queue overflows, and the admin resolves from the
sidebar; the worker does the rest. Act three is a maintenance window the worker declares and ends on time,
act four an outage the status page declares and resolves. Act five is the days after: SLA by plan escalated
by Zendesk's own automations, aftercare for the customers an outage hurt, and a key posted in a ticket redacted.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from app.clock import SystemClock
from app.config import Config
from app.demo.main_outage import play_main_outage
from app.demo.aftercare_and_hygiene import PLAN_FIELD, after_the_outage, plans_and_organisations
from app.demo.maintenance_window import play_maintenance_window
from app.demo.phones_and_chats import Before, chats_per_agent, phone_lines
from app.demo.second_outage import close_suspected_outage, play_suspected_outage
from app.demo.stage import API_EMAIL, Figures, ServiceThread, SlackChannel, Stage
from app.demo.status_page import STATUS_COMPONENTS, play_status_page
from app.intake.status_token import StatusToken
from app.jobs.scheduler import build_scheduler
from app.store.secrets import SecretBox
from app.store.settings import STATUS_WEBHOOK_TOKEN, WEBHOOK_SIGNING_SECRET, save_secret
from app.wiring import build_desk
from app.zendesk.provisioning import DEFINITIONS_ROOT, Provisioner
from zendesk_sandbox.apps import OUTAGE_DESK_APP_ID
from zendesk_sandbox.seed import load_macros, seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

# New tickets stay out of search this long, as on Zendesk: only webhooks can bring them in.
INDEX_DELAY_SECONDS = 120


def run_demo(tickets: int, new_tickets: int, console: Console) -> bool:
    """Run the demo; True when every check held."""
    began = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    clock = SystemClock()
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="outage-desk-demo-") as workdir:
        token = secrets.token_urlsafe(24)
        state = SandboxState(api_email=API_EMAIL)
        start = clock.now() - timedelta(hours=3)
        summary = seed_outage(state, tickets=tickets, seed=7, start=start,
                              macros=load_macros(DEFINITIONS_ROOT / "macros"), rich_text_macros=True)
        chat_token = secrets.token_urlsafe(24)  # what the account's Chat OAuth client issued to Outage Desk
        sandbox = serve_sandbox(create_sandbox_app(state, email=API_EMAIL, api_token=token, rate_limit_per_minute=700,
                                                   job_delay=0.05, index_delay=INDEX_DELAY_SECONDS,
                                                   chat_oauth_token=chat_token))
        slack = SlackChannel()
        organisation_id = plans_and_organisations(sandbox.url)
        # A key of its own, as for the sandbox's token: the demo's store is thrown away with its folder.
        # The phone queue is read every second rather than every 30, so the demo need not wait.
        config = Config(zendesk_subdomain="demo", zendesk_url=sandbox.url, zendesk_email=API_EMAIL,
                        zendesk_api_token=token, database_url=f"sqlite:///{Path(workdir) / 'desk.db'}",
                        outage_desk_referent=str(summary.referent_id), outage_desk_secret_key=SecretBox.new_key(),
                        outage_desk_app_id=OUTAGE_DESK_APP_ID, slack_webhook_url=slack.url,
                        outage_desk_chat_oauth_token=chat_token, outage_desk_voice_poll_seconds=1,
                        outage_desk_status_components=STATUS_COMPONENTS, outage_desk_plan_field=PLAN_FIELD)
        desk = build_desk(config, clock)
        service = ServiceThread()
        stage = Stage(state=state, sandbox_url=sandbox.url, token=token, config=config, clock=clock, desk=desk,
                      service=service, slack=slack, figures=figures, console=console, agent_id=summary.agent_ids[0])
        # As an admin would: `outage-desk setup` creates the webhook and triggers and stores the signing secret.
        provisioner = Provisioner(desk.gateway, config, service.url)
        plan = provisioner.plan()
        box = SecretBox(config.outage_desk_secret_key)
        save_secret(desk.sessions, box, WEBHOOK_SIGNING_SECRET, provisioner.apply(plan)["webhook_secret"])
        # As `outage-desk status-webhook` does: the URL the admin pastes into the status page carries this.
        save_secret(desk.sessions, box, STATUS_WEBHOOK_TOKEN, StatusToken.new())
        console.print(f"[bold]Set up[/] the account: {len(plan.changes)} changes (webhook, triggers, macros, fields, "
                      "greetings, SLA policies, automations).")
        service.start(config)
        worker = build_scheduler(build_desk(config, clock), blocking=False, interval=0.3)
        worker.start()
        try:
            before = Before(lines=phone_lines(stage), chats_per_agent=chats_per_agent(stage))
            play_main_outage(stage, start, new_tickets)
            second = play_suspected_outage(stage, referent_id=summary.referent_id, before=before,
                                           organisation_id=organisation_id)
            if second:
                close_suspected_outage(stage, second)
            play_maintenance_window(stage)
            play_status_page(stage)
            figures.section("Act five: SLA by plan, aftercare and hygiene, with no outage running")
            after_the_outage(stage, organisation_id)
        finally:
            worker.shutdown(wait=False)
            service.shutdown()
            sandbox.shutdown()
            slack.shutdown()
            desk.sessions.kw["bind"].dispose()
    figures.add("Wall time", f"{time.monotonic() - began:.1f} s")
    figures.print(console)
    return figures.ok
