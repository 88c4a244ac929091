"""The running sandbox: state plus clock, limits, job worker and webhook sender, shared by all views."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, request

from zendesk_sandbox.apps import AppRegistry
from zendesk_sandbox.clock import Clock
from zendesk_sandbox.faults import FaultInjector, Faults
from zendesk_sandbox import placeholders, tickets
from zendesk_sandbox.jobs import JobRunner
from zendesk_sandbox.rate_limit import RateLimiter
from zendesk_sandbox.state import Job, SandboxState
from zendesk_sandbox.talk import TalkState
from zendesk_sandbox.tickets import Outcome, UpdateError
from zendesk_sandbox.trigger_cycle import WebhookCall
from zendesk_sandbox.webhooks import WebhookDispatcher


class Sandbox:
    """Ticket writes go through here, so every path sends the webhooks its triggers called."""

    def __init__(
        self,
        state: SandboxState,
        clock: Clock,
        *,
        api_token: str,
        rate_limit_per_minute: int,
        job_delay: float,
        job_delay_per_ticket: float,
        index_delay: float,
        faults: Faults,
        talk: TalkState | None = None,
    ):
        self.state = state
        self.clock = clock
        self.api_token = api_token
        self.index_delay = index_delay
        self.faults = FaultInjector(faults)
        self.limiter = RateLimiter(rate_limit_per_minute, clock.monotonic)
        self.webhooks = WebhookDispatcher(state, clock)
        self.apps = AppRegistry(clock.now)
        self.talk = talk if talk is not None else TalkState()
        self.jobs = JobRunner(
            state, self.apply_job_item, delay=job_delay, per_ticket=job_delay_per_ticket, now=clock.now
        )

    def now(self) -> datetime:
        """The sandbox's current time (UTC)."""
        return self.clock.now()

    def indexed(self, ticket_id: int) -> dict | None:
        """The ticket as search sees it: writes show index_delay seconds late, new tickets not before."""
        return self.state.indexed_ticket(ticket_id, self.now() - timedelta(seconds=self.index_delay))

    def create_ticket(self, spec: dict, *, actor_id: int, via: dict, created_at: str | None = None) -> Outcome:
        """Create a ticket (triggers run) and send the webhooks its triggers called."""
        with self.state.lock:
            outcome = tickets.create_ticket(
                self.state,
                spec,
                actor_id=actor_id,
                now=self.now(),
                via_=via,
                created_at=created_at,
            )
            self._invoke_webhooks(outcome, actor_id)
            return outcome

    def update_ticket(
        self, ticket_id: int, changes: dict, *, actor_id: int, stamp: str | None = None, stamp_exact: bool = True
    ) -> Outcome:
        """Update one ticket (see zendesk_sandbox.tickets.update_ticket) and send the webhooks its triggers called."""
        with self.state.lock:
            outcome = tickets.update_ticket(
                self.state, ticket_id, changes, actor_id=actor_id, now=self.now(), stamp=stamp, stamp_exact=stamp_exact
            )
            self._invoke_webhooks(outcome, actor_id)
            return outcome

    def apply_job_item(self, job: Job, item: dict) -> dict:
        """Run one ticket of an update_many, create_many or destroy_many job; failures become result entries,
        as in Zendesk."""
        if item.get("action") == "create":
            return self._create_job_item(item)
        if item.get("action") == "delete":
            return self._delete_job_item(item)
        if item.get("action") == "merge":
            return self._merge_job_item(item)
        result = {"id": item["id"], "action": "update"}
        if item.get("error"):
            return {**result, "success": False, **item["error"]}
        failure = self.faults.for_item("update")
        if failure is not None:
            # An injected transient failure: this ticket is left as it was, the job still completes.
            self._count_failed_item()
            return {**result, "success": False, "error": failure[0], "details": failure[1]}
        try:
            self.update_ticket(
                item["id"], item["changes"], actor_id=item["actor_id"], stamp=item["stamp"], stamp_exact=item["exact"]
            )
        except UpdateError as error:
            return {**result, "success": False, "error": error.code, "details": error.details}
        return {**result, "status": "Updated", "success": True}

    def _create_job_item(self, item: dict) -> dict:
        result = {"index": item["index"]}
        failure = self.faults.for_item("create")
        if failure is not None:
            self._count_failed_item()
            return {**result, "error": failure[0], "details": failure[1]}
        try:
            outcome = self.create_ticket(item["spec"], actor_id=item["actor_id"], via=tickets.via("api"))
        except UpdateError as error:
            return {**result, "error": "TicketCreateFailed", "details": error.details}
        return {"id": outcome.ticket["id"], **result}

    def _merge_job_item(self, item: dict) -> dict:
        """A merge job's one result: the target updated, or why nothing was (a source or the target closed)."""
        result = {"id": item["target_id"], "action": "merge", "merged_ids": item["source_ids"]}
        with self.state.lock:
            try:
                calls = tickets.merge_tickets(
                    self.state, item["target_id"], item["source_ids"], target_comment=item["target_comment"],
                    source_comment=item["source_comment"], target_public=item["target_public"],
                    source_public=item["source_public"], actor_id=item["actor_id"], now=self.now())
            except UpdateError as error:
                return {**result, "success": False, "error": error.code, "details": error.details}
            self._invoke_webhooks(Outcome({}, {}, calls), item["actor_id"])
        return {**result, "status": "Updated", "success": True}

    def _count_failed_item(self) -> None:
        with self.state.lock:
            self.state.failed_items += 1

    def _delete_job_item(self, item: dict) -> dict:
        result = {"id": item["id"], "action": "delete"}
        with self.state.lock:
            if self.state.ticket(item["id"]) is None:
                return {**result, "success": False, "error": "RecordNotFound"}
            self.state.delete_ticket(item["id"])
        return {**result, "status": "Deleted", "success": True}

    def close(self) -> None:
        """Stop the background threads."""
        self.jobs.stop()
        self.webhooks.stop()

    def _invoke_webhooks(self, outcome: Outcome, actor_id: int) -> None:
        self.send_webhooks(outcome.webhook_calls, actor_id)

    def send_webhooks(self, webhook_calls: list[tuple[dict, WebhookCall]], actor_id: int) -> None:
        """Render each call's body against the saved ticket, as plain text, and queue it."""
        for ticket, call in webhook_calls:
            webhook = self.state.webhooks.get(call.webhook_id)
            if webhook is None or webhook["status"] != "active":
                continue  # deleted or deactivated since the trigger was saved: Zendesk sends nothing
            body = placeholders.render(
                call.body,
                ticket=ticket,
                requester=self.state.user(ticket["requester_id"]),
                assignee=self.state.user(ticket["assignee_id"]),
                current_user=self.state.user(actor_id),
            )
            self.webhooks.invoke(webhook, body, ticket_id=ticket["id"], trigger_id=call.trigger_id)


def current() -> Sandbox:
    """The sandbox of the app handling this request."""
    return current_app.extensions["sandbox"]


def base_url() -> str:
    """Scheme and host of this request, for the urls inside responses."""
    return request.host_url.rstrip("/")
