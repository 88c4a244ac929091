"""The one way to Zendesk: bulk writes, jobs, search export, macros, users — with retries.

Every call goes through zenpy's transport (auth, URLs, error checks); answers come back as
our small types. Retries and waits live here and in the bulk pipeline it drives, nowhere else.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.endpoint import Url

from app.clock import Clock, SystemClock
from app.errors import InputError, ZendeskError, ZendeskHttpError, ZendeskRateLimited, ZendeskServerError
from app.zendesk.client import RateLimitState
from app.zendesk.bulk import BulkWriter, JobPace
from app.zendesk.macro import Macro, variant_language
from app.zendesk.model import BulkOutcome, DropdownField, Ticket, User

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_SIZE = 100  # update_many and show_many take at most 100 ids
EXPORT_PAGE_SIZE = 1000  # search and incremental exports allow 1000 per page: fewer calls
INCREMENTAL_MIN_AGE_SECONDS = 61  # its start_time must be at least a minute in the past
# Retries per status, PagerDuty-style; 401/403/404/422 are never retried.
RETRY_STATUSES = {500: 2, 502: 4, 503: 6, 504: 6}
MAX_NETWORK_RETRIES = 3
MAX_RATE_LIMIT_WAIT = 15 * 60  # total seconds we accept to be throttled in one call
BACKOFF_BASE = 0.5
# Below this share of the per-minute budget, slow down before Zendesk answers 429.
PACING_THRESHOLD = 0.05


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ZendeskGateway:
    """Everything Outage Desk asks of Zendesk."""

    def __init__(self, client: Zenpy, rate_limit: RateLimitState, clock: Clock | None = None,
                 rng: random.Random | None = None):
        self._client = client
        self._rate_limit = rate_limit
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._job_pace = JobPace()

    @property
    def calls(self) -> int:
        """API calls made so far, retries included."""
        return self._rate_limit.calls

    # -- transport ---------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call with the retry policy; `what` names it in logs and errors."""
        status_retries: dict[int, int] = {}
        network_retries = 0
        throttled = 0.0
        while True:
            self._pace()
            try:
                return fn()
            except ZendeskRateLimited as error:
                wait = error.retry_after or 1.0
                throttled += wait
                if throttled > MAX_RATE_LIMIT_WAIT:
                    raise
                log.warning("zendesk.rate-limited", extra={"call": what, "wait": wait})
            except ZendeskServerError as error:
                tries = status_retries.get(error.status_code, 0)
                if tries >= RETRY_STATUSES.get(error.status_code, 0):
                    raise
                status_retries[error.status_code] = tries + 1
                wait = self._backoff(tries)
                log.warning("zendesk.server-error", extra={"call": what, "status": error.status_code, "wait": wait})
            except (requests.ConnectionError, requests.Timeout) as error:
                if network_retries >= MAX_NETWORK_RETRIES:
                    raise ZendeskError(f"cannot reach Zendesk for {what}: {type(error).__name__}") from None
                wait = self._backoff(network_retries)
                network_retries += 1
                log.warning("zendesk.network-error", extra={"call": what, "wait": wait})
            self._clock.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return BACKOFF_BASE * (2 ** attempt) * (1 + self._rng.random())

    def _pace(self) -> None:
        state = self._rate_limit
        if state.limit and state.remaining is not None and state.remaining < state.limit * PACING_THRESHOLD:
            reset = state.reset_seconds if state.reset_seconds is not None else 60.0
            self._clock.sleep(reset / max(state.remaining, 1))

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        api = self._client.tickets
        encoded = {key: quote(str(value), safe=",()") for key, value in params.items() if value is not None}
        url = api._build_url(Url(path, encoded))
        return self._call(f"GET {path}", lambda: api._get(url, raw_response=True).json())

    def _get_url(self, url: str) -> dict[str, Any]:
        """Follow a `links.next` URL Zendesk gave us."""
        api = self._client.tickets
        path = url.split("/api/v2/", 1)[-1].split("?", 1)[0]
        return self._call(f"GET {path}", lambda: api._get(url, raw_response=True).json())

    def _send(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST/PUT JSON through zenpy's transport; returns Zendesk's JSON answer."""
        api = self._client.tickets
        url = api._build_url(Url(path))
        send = getattr(api.session, method.lower())
        response = self._call(f"{method} {path}", lambda: api._call_api(send, url, json=payload, timeout=api.timeout))
        return response.json() if response.content else {}

    def list_all(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every object of a cursor-paginated admin listing (fields, webhooks, triggers, macros)."""
        page = self._get(path, **{"page[size]": 100})
        found = list(page[key])
        while (page.get("meta") or {}).get("has_more") and (page.get("links") or {}).get("next"):
            page = self._get_url(page["links"]["next"])
            found.extend(page[key])
        return found

    def create(self, path: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create one admin object; returns it as Zendesk stored it."""
        return self._send("POST", path, {key: data})[key]

    def update(self, path: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Update one admin object; returns it as Zendesk stored it."""
        return self._send("PUT", path, {key: data})[key]

    def webhook_secret(self, webhook_id: str) -> str:
        """The signing secret Zendesk signs this webhook's deliveries with."""
        return self._get(f"webhooks/{webhook_id}/signing_secret")["signing_secret"]["secret"]

    # -- users, fields, macros ---------------------------------------------

    def me(self) -> User:
        """The user the credentials belong to (checks them, too)."""
        return User.from_json(self._get("users/me.json")["user"])

    def find_user(self, id_or_email: str) -> User:
        """A user by id or email.

        :raises InputError: no such user.
        """
        if id_or_email.isdigit():
            try:
                return User.from_json(self._get(f"users/{id_or_email}.json")["user"])
            except ZendeskHttpError as error:
                if error.status_code == 404:
                    raise InputError(f"no Zendesk user with id {id_or_email}") from None
                raise
        found = self._get("users/search.json", query=f"email:{id_or_email}")["users"]
        if not found:
            raise InputError(f"no Zendesk user with email {id_or_email}")
        return User.from_json(found[0])

    def users(self, ids: Iterable[int]) -> dict[int, User]:
        """Users by id, 100 per call."""
        found: dict[int, User] = {}
        for batch in chunks(sorted(set(ids))):
            for data in self._get("users/show_many.json", ids=",".join(map(str, batch)))["users"]:
                user = User.from_json(data)
                found[user.id] = user
        return found

    def dropdown_fields(self, *ids_or_titles: str) -> dict[str, DropdownField]:
        """Drop-down ticket fields by id or title, from one listing of the account's fields.

        :returns: each name asked for that was found -> its field with options
        :raises InputError: a field that exists but is not a drop-down.
        """
        found: dict[str, DropdownField] = {}
        for data in self._get("ticket_fields.json")["ticket_fields"]:
            for wanted in ids_or_titles:
                if wanted not in (str(data.get("id")), data.get("title")):
                    continue
                if data.get("type") not in ("tagger", "multiselect"):
                    raise InputError(f"ticket field {wanted!r} is not a drop-down")
                options = {o["name"]: o["value"] for o in data.get("custom_field_options") or ()}
                found[wanted] = DropdownField(id=int(data["id"]), title=data.get("title") or "", options=options)
        return found

    def macros(self, id_or_title: str, protected_tags: Iterable[str] = ()) -> dict[str, Macro]:
        """Macros by id (one, for every language) or title ("<title> (<lang>)" per language), checked.

        Each is read with Macro.from_json, so a macro Outage Desk cannot apply (an empty reply,
        set_tags, an unsupported action) is refused here, before the caller writes anything.

        :param protected_tags: tags no macro may remove (the outage tag, the contact reason's option tag).
        :returns: language code (or "" for the single macro) -> Macro
        :raises InputError: no such macro, or one that cannot be applied (the message names it and the action).
        """
        found = self._macros_found(id_or_title)
        for macro in found.values():
            macro.check_removals(protected_tags)
        return found

    def _macros_found(self, id_or_title: str) -> dict[str, Macro]:
        if id_or_title.isdigit():
            try:
                return {"": Macro.from_json(self._get(f"macros/{id_or_title}.json")["macro"])}
            except ZendeskHttpError as error:
                if error.status_code == 404:
                    raise InputError(f"no macro with id {id_or_title}") from None
                raise
        found: dict[str, Macro] = {}
        page = self._get("macros/active.json", **{"page[size]": 100})
        while True:
            for data in page["macros"]:
                language = variant_language(data.get("title") or "", id_or_title)
                if language == "":
                    found.setdefault("", Macro.from_json(data))
                elif language is not None:
                    found[language] = Macro.from_json(data)
            next_url = (page.get("links") or {}).get("next")
            if not (page.get("meta") or {}).get("has_more") or not next_url:
                break
            page = self._get_url(next_url)
        if not found:
            raise InputError(f"no active macro titled {id_or_title!r} or {id_or_title!r} (<language>)")
        return found

    # -- tickets -------------------------------------------------------------

    def create_problem_ticket(self, subject: str, body: str, priority: str) -> int:
        """Create the incident's problem ticket; returns its id."""
        ticket = ZenpyTicket(subject=subject, type="problem", priority=priority, status="open",
                             comment={"body": body, "public": False})
        audit = self._call("POST tickets", lambda: self._client.tickets.create(ticket))
        return int(audit.ticket.id)

    def export_tickets(self, query: str) -> Iterator[list[Ticket]]:
        """Every ticket matching `query`, a page at a time, requesters attached.

        Uses the search export (cursor) endpoint: plain search stops at 1,000 results.
        The type goes in filter[type] only, as the docs require.
        """
        page = self._get("search/export.json", query=query, **{"filter[type]": "ticket",
                                                               "page[size]": EXPORT_PAGE_SIZE, "include": "users"})
        while True:
            yield self._tickets_with_requesters(page["results"], page.get("users") or ())
            next_url = (page.get("links") or {}).get("next")
            if not (page.get("meta") or {}).get("has_more") or not next_url:
                return
            page = self._get_url(next_url)

    def updated_tickets(self, since: datetime) -> Iterator[list[Ticket]]:
        """Tickets updated since `since`, a page at a time (incremental cursor export).

        Unlike search, it sees tickets Zendesk has not indexed yet; its last minute is not
        served (the docs' rule), which webhooks cover.
        """
        newest = self._clock.now().timestamp() - INCREMENTAL_MIN_AGE_SECONDS
        page = self._get("incremental/tickets/cursor.json", start_time=int(min(since.timestamp(), newest)),
                         include="users", per_page=EXPORT_PAGE_SIZE)
        while True:
            yield self._tickets_with_requesters(page["tickets"], page.get("users") or ())
            if page.get("end_of_stream") or not page.get("after_url"):
                return
            page = self._get_url(page["after_url"])

    def tickets(self, ids: Iterable[int]) -> list[Ticket]:
        """Tickets by id with their requesters, 100 per call; unknown ids are simply absent."""
        found: list[Ticket] = []
        for batch in chunks(sorted(set(ids))):
            page = self._get("tickets/show_many.json", ids=",".join(map(str, batch)), include="users")
            found.extend(self._tickets_with_requesters(page["tickets"], page.get("users") or ()))
        return found

    def _tickets_with_requesters(self, tickets: list[dict], users: Iterable[dict]) -> list[Ticket]:
        known = {int(u["id"]): User.from_json(u) for u in users}
        # Sideloads should carry every requester; fetch any that did not come, in bulk.
        missing = {t["requester_id"] for t in tickets if t.get("requester_id") and t["requester_id"] not in known}
        if missing:
            known.update(self.users(missing))
        return [Ticket.from_json(t, known) for t in tickets]

    # -- bulk writes -----------------------------------------------------

    def bulk_writer(self, on_progress: Callable[[int], None] | None = None) -> BulkWriter:
        """A pipeline of update_many jobs: `add` batches of changes, then `finish`."""
        return BulkWriter(self._submit_job, self._job_statuses, self._clock, self._job_pace, on_progress)

    def bulk_update(self, items: Sequence[dict[str, Any]],
                    on_progress: Callable[[int], None] | None = None) -> BulkOutcome:
        """Apply per-ticket changes (Zendesk ticket objects with their `id`) in update_many jobs
        of 100, and wait for every job; tickets that failed inside a job are retried."""
        writer = self.bulk_writer(on_progress)
        outcome = writer.add(items)
        writer.finish()
        return outcome

    def _submit_job(self, batch: Sequence[dict[str, Any]]) -> str:
        # Plain JSON: the items are already Zendesk ticket objects, and building zenpy
        # objects for them cost more CPU than the rest of a declare.
        return self._send("PUT", "tickets/update_many.json", {"tickets": list(batch)})["job_status"]["id"]

    def _job_statuses(self, job_ids: list[str]) -> list[dict[str, Any]]:
        statuses: list[dict[str, Any]] = []
        for batch in chunks(job_ids):
            statuses.extend(self._get("job_statuses/show_many.json", ids=",".join(batch))["job_statuses"])
        return statuses
