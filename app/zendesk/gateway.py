"""The one way to Zendesk: bulk writes, jobs, search export, macros, users — with retries.

Every call goes through app/zendesk/transport.py (auth, URLs, deadlines, error checks); answers are checked
for shape and come back as our small types. Retries and waits live here and in the bulk
pipeline it drives, nowhere else.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from app.clock import Clock, SystemClock
from app.errors import (
    InputError, TalkUnavailable, ZendeskAuthError, ZendeskBadAnswer, ZendeskError, ZendeskHttpError,
    ZendeskRateLimited, ZendeskServerError, ZendeskTimeout, ZendeskUnreachable,
)
from app.zendesk.answers import Answer
from app.zendesk.client import RateLimitState
from app.zendesk.bulk import BulkWriter, JobPace
from app.zendesk.macro import Macro, variant_language
from app.zendesk.model import BulkOutcome, Comment, DropdownField, Greeting, PhoneLine, QueueActivity, Ticket, User
from app.zendesk.transport import ZendeskTransport

log = logging.getLogger(__name__)

T = TypeVar("T")
Read = Callable[[Answer], T]  # runs inside the retried attempt, so a malformed answer is tried again

BATCH_SIZE = 100  # update_many and show_many take at most 100 ids
EXPORT_PAGE_SIZE = 1000  # search and incremental exports allow 1000 per page: fewer calls
INCREMENTAL_MIN_AGE_SECONDS = 61  # its start_time must be at least a minute in the past
# Retries per status, PagerDuty-style; 401/403/404/422 are never retried.
RETRY_STATUSES = {500: 2, 502: 4, 503: 6, 504: 6}
STAMP_SETTLE = timedelta(seconds=2)  # how old a safe update's stamp must be before it is sent
CREATE_ATTEMPTS = 5  # a create is re-sent only after Zendesk says the ticket does not exist yet
MAX_NETWORK_RETRIES = 3
# A call that ran out its whole deadline is tried once more, on a fresh connection: another
# full wait rarely helps, and the caller (an admin at the CLI) has waited long enough.
MAX_TIMEOUT_RETRIES = 1
# A success status with a body that is not our JSON is most often a proxy or load balancer
# passing on its own page for a moment: worth two more tries, not more.
MAX_BAD_ANSWER_RETRIES = 2
MAX_RATE_LIMIT_WAIT = 15 * 60  # total seconds we accept to be throttled in one call
BACKOFF_BASE = 0.5
# Below this share of the per-minute budget, slow down before Zendesk answers 429.
PACING_THRESHOLD = 0.05
# Network failures the retry policy covers; a broken body is one too.
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                  requests.exceptions.ContentDecodingError)


def chunks(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class ZendeskGateway:
    """Everything Outage Desk asks of Zendesk.

    `on_answer` is called for every answer received (the worker's lease renews on it);
    `before_write(what)` runs before every write and may raise to stop it (the worker's
    lease fence: a worker that lost its lease must not write). `patient=False` makes every call
    one attempt: a web request must not wait out Zendesk's retries while its caller waits.
    """

    def __init__(self, transport: ZendeskTransport, rate_limit: RateLimitState, clock: Clock | None = None,
                 rng: random.Random | None = None, on_answer: Callable[[], None] | None = None,
                 before_write: Callable[[str], None] | None = None, patient: bool = True):
        self._transport = transport
        self._patient = patient
        self._rate_limit = rate_limit
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._job_pace = JobPace()
        self._on_answer = on_answer
        self._before_write = before_write

    @property
    def calls(self) -> int:
        """API calls made so far, retries included."""
        return self._rate_limit.calls

    # -- transport ---------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T], tickets: Iterable[int] = (), retry: bool = True) -> T:
        """Run one API call with the retry policy; `what` names it in logs and errors, `tickets` too.

        `retry=False` makes one attempt: for a write that must not be sent twice blindly.
        """
        try:
            if retry and self._patient:
                result = self._retrying(what, fn)
            else:
                self._pace()
                try:
                    result = fn()
                except NETWORK_ERRORS as network_error:
                    raise ZendeskUnreachable(f"cannot reach Zendesk for {what}: {type(network_error).__name__}",
                                             endpoint=what) from None
        except ZendeskError as error:
            error.endpoint = error.endpoint or what
            error.tickets = error.tickets or tuple(tickets)
            raise
        if self._on_answer:
            self._on_answer()
        return result

    def _retrying(self, what: str, fn: Callable[[], T]) -> T:
        status_retries: dict[int, int] = {}
        network_retries = timeouts = bad_answers = 0
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
                log.info("zendesk.rate-limited", extra={"endpoint": what, "wait": wait})
            except ZendeskServerError as error:
                tries = status_retries.get(error.status_code, 0)
                if tries >= RETRY_STATUSES.get(error.status_code, 0):
                    raise
                status_retries[error.status_code] = tries + 1
                wait = self._backoff(tries)
                log.info("zendesk.server-error", extra={"endpoint": what, "status": error.status_code, "wait": wait})
            except ZendeskTimeout:
                if timeouts >= MAX_TIMEOUT_RETRIES:
                    raise
                wait = self._backoff(timeouts)
                timeouts += 1
                log.info("zendesk.timeout", extra={"endpoint": what, "wait": wait})
            except ZendeskBadAnswer as error:
                if bad_answers >= MAX_BAD_ANSWER_RETRIES:
                    raise
                wait = self._backoff(bad_answers)
                bad_answers += 1
                log.info("zendesk.bad-answer", extra={"endpoint": what, "status": error.status, "wait": wait})
            except NETWORK_ERRORS as error:
                if network_retries >= MAX_NETWORK_RETRIES:
                    raise ZendeskUnreachable(f"cannot reach Zendesk for {what}: {type(error).__name__}",
                                             endpoint=what) from None
                wait = self._backoff(network_retries)
                network_retries += 1
                log.info("zendesk.network-error", extra={"endpoint": what, "error": type(error).__name__,
                                                         "wait": wait})
            self._clock.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return BACKOFF_BASE * (2 ** attempt) * (1 + self._rng.random())

    def _pace(self) -> None:
        state = self._rate_limit
        if state.limit and state.remaining is not None and state.remaining < state.limit * PACING_THRESHOLD:
            reset = state.reset_seconds if state.reset_seconds is not None else 60.0
            self._clock.sleep(reset / max(state.remaining, 1))

    def _answer(self, response: requests.Response, what: str) -> Answer:
        return Answer.of(response, what, self._transport.redact)

    def _get(self, path: str, read: Read[T], tickets: Iterable[int] = (), **params: Any) -> T:
        """GET `path` and `read` its answer, both retried together."""
        encoded = {key: quote(str(value), safe=",()") for key, value in params.items() if value is not None}
        url = self._transport.url(path, encoded)
        what = f"GET /api/v2/{path}"
        return self._call(what, lambda: read(self._answer(self._transport.get(url), what)), tickets)

    def _get_url(self, url: str, read: Read[T]) -> T:
        """Follow a `links.next` URL Zendesk gave us."""
        what = f"GET {urlsplit(url).path}"
        return self._call(what, lambda: read(self._answer(self._transport.get(url), what)))

    def _send(self, method: str, path: str, payload: dict[str, Any], read: Read[T],
              tickets: Iterable[int] = (), retry: bool = True) -> T:
        """POST/PUT JSON through the transport and `read` Zendesk's answer; `before_write` first."""
        url = self._transport.url(path)
        what = f"{method} /api/v2/{path}"

        def attempt() -> T:
            if self._before_write:
                self._before_write(what)  # every attempt: the lease may have gone during a retry's wait
            return read(self._answer(self._transport.send(method, url, payload), what))
        return self._call(what, attempt, tickets, retry)

    def list_all(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every object of a cursor-paginated admin listing (fields, webhooks, triggers, macros)."""
        def read(answer: Answer) -> tuple[list[dict[str, Any]], str | None]:
            return answer.objects(key), answer.next_url()
        found, next_url = self._get(path, read, **{"page[size]": 100})
        while next_url:
            page, next_url = self._get_url(next_url, read)
            found.extend(page)
        return found

    def create(self, path: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create one admin object; returns it as Zendesk stored it (with its id)."""
        return self._send("POST", path, {key: data}, lambda answer: _with_id(answer, key))

    def update(self, path: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Update one admin object; returns it as Zendesk stored it (with its id)."""
        return self._send("PUT", path, {key: data}, lambda answer: _with_id(answer, key))

    def reorder_sla_policies(self, policy_ids: list[int]) -> None:
        """Reorder SLA Policies (the order they are matched in); Zendesk answers 200 with an empty body."""
        path = "slas/policies/reorder.json"
        url = self._transport.url(path)
        what = f"PUT /api/v2/{path}"

        def attempt() -> None:
            if self._before_write:
                self._before_write(what)
            self._transport.send("PUT", url, {"sla_policy_ids": policy_ids})
        self._call(what, attempt)

    def webhook_secret(self, webhook_id: str) -> str:
        """The signing secret Zendesk signs this webhook's deliveries with."""
        return self._get(f"webhooks/{webhook_id}/signing_secret",
                         lambda answer: answer.text(answer.object("signing_secret"), "secret"))

    # -- apps --------------------------------------------------------------

    def app_public_key(self, app_id: int) -> str:
        """The app's public key: Get App Public Key answers PEM text, not JSON."""
        path = f"apps/{app_id}/public_key.pem"
        url = self._transport.url(path)
        what = f"GET /api/v2/{path}"

        def fetch() -> str:
            text = self._transport.get(url).text
            if not text.lstrip().startswith("-----BEGIN PUBLIC KEY-----"):
                raise ZendeskBadAnswer(f"Zendesk's answer to {what} is not a PEM public key", None, what)
            return text
        return self._call(what, fetch)

    # -- chat routing ------------------------------------------------------

    def chat_routing(self, chat_token: str) -> dict[str, Any]:
        """The account's Chat routing settings (Chat API, Routing Settings), read with the Chat OAuth token."""
        return self._chat("GET", chat_token)

    def update_chat_routing(self, chat_token: str, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH the account's Chat routing settings; returns them as Zendesk has them now.

        Setting a value is idempotent: sent again after a lost answer, it leaves the same settings.
        """
        return self._chat("PATCH", chat_token, changes)

    def _chat(self, method: str, chat_token: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self._transport.url("chat/routing_settings/account")
        what = f"{method} /api/v2/chat/routing_settings/account"

        def attempt() -> dict[str, Any]:
            if payload is not None and self._before_write:
                self._before_write(what)
            # The request's own auth replaces the session's: Chat takes its OAuth token, not Support's.
            response = self._transport.send(method, url, payload, auth=_Bearer(chat_token))
            return self._answer(response, what).object("data")
        return self._call(what, attempt)

    # -- account ---------------------------------------------------------

    def account_time_zone(self) -> ZoneInfo:
        """The account's time zone (Show Settings' localization.iana_time_zone; allowed for agents)."""
        def read(answer: Answer) -> ZoneInfo:
            localization = answer.object("settings").get("localization")
            if not isinstance(localization, dict):
                raise answer.bad("'settings.localization' is not an object")
            name = answer.text(localization, "iana_time_zone")
            try:
                return ZoneInfo(name)
            except (ValueError, ZoneInfoNotFoundError):
                raise answer.bad(f"unknown time zone {name!r}") from None
        return self._get("account/settings.json", read)

    # -- users, fields, macros ---------------------------------------------

    def me(self) -> User:
        """The user the credentials belong to (checks them, too)."""
        return self._get("users/me.json", lambda answer: answer.build(User.from_json, answer.object("user")))

    def find_user(self, id_or_email: str) -> User:
        """A user by id or email.

        :raises InputError: no such user.
        """
        if id_or_email.isdigit():
            try:
                return self._get(f"users/{id_or_email}.json",
                                 lambda answer: answer.build(User.from_json, answer.object("user")))
            except ZendeskHttpError as error:
                if error.status_code == 404:
                    raise InputError(f"no Zendesk user with id {id_or_email}") from None
                raise
        found = self._get("users/search.json", _users, query=f"email:{id_or_email}")
        if not found:
            raise InputError(f"no Zendesk user with email {id_or_email}")
        return found[0]

    def users(self, ids: Iterable[int]) -> dict[int, User]:
        """Users by id, 100 per call."""
        found: dict[int, User] = {}
        for batch in chunks(sorted(set(ids))):
            for user in self._get("users/show_many.json", _users, ids=",".join(map(str, batch))):
                found[user.id] = user
        return found

    def dropdown_fields(self, *ids_or_titles: str) -> dict[str, DropdownField]:
        """Drop-down ticket fields by id or title, from one listing of the account's fields.

        :returns: each name asked for that was found -> its field with options
        :raises InputError: a field that exists but is not a drop-down.
        """
        def read(answer: Answer) -> dict[str, DropdownField]:
            found: dict[str, DropdownField] = {}
            for data in answer.objects("ticket_fields"):
                for wanted in ids_or_titles:
                    if wanted not in (str(data.get("id")), data.get("title")):
                        continue
                    if data.get("type") not in ("tagger", "multiselect"):
                        raise InputError(f"ticket field {wanted!r} is not a drop-down")
                    found[wanted] = answer.build(_dropdown, data)
            return found
        return self._get("ticket_fields.json", read)

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
                return {"": self._get(f"macros/{id_or_title}.json",
                                      lambda answer: answer.build(Macro.from_json, answer.object("macro")))}
            except ZendeskHttpError as error:
                if error.status_code == 404:
                    raise InputError(f"no macro with id {id_or_title}") from None
                raise

        def read(answer: Answer) -> tuple[list[tuple[str, Macro]], str | None]:
            # Only this family's macros are read whole: the account's other macros are none of ours.
            family = []
            for data in answer.objects("macros"):
                language = variant_language(data.get("title") or "", id_or_title)
                if language is not None:
                    family.append((language, answer.build(Macro.from_json, data)))
            return family, answer.next_url()
        found: dict[str, Macro] = {}
        page, next_url = self._get("macros/active.json", read, **{"page[size]": 100})
        while True:
            for language, macro in page:
                if language:
                    found[language] = macro
                else:
                    found.setdefault("", macro)
            if not next_url:
                break
            page, next_url = self._get_url(next_url, read)
        if not found:
            raise InputError(f"no active macro titled {id_or_title!r} or {id_or_title!r} (<language>)")
        return found

    # -- talk ----------------------------------------------------------------
    # An account without Talk, or an API user without access to it, answers these with 403: TalkUnavailable.

    def queue_activity(self) -> QueueActivity:
        """Talk's live queue, account-wide (Show Current Queue Activity)."""
        with _talk():
            return self._get("channels/voice/stats/current_queue_activity.json",
                             lambda answer: answer.build(QueueActivity.from_json,
                                                         answer.object("current_queue_activity")))

    def phone_lines(self) -> list[PhoneLine]:
        """Every Talk phone number of the account."""
        with _talk():
            return self._talk_listing("phone_numbers", PhoneLine.from_json)

    def greetings(self) -> list[Greeting]:
        """Every Talk greeting of the account, the system defaults and the custom ones."""
        with _talk():
            return self._talk_listing("greetings", Greeting.from_json)

    def create_greeting(self, name: str, category_id: int) -> Greeting:
        """Create a custom greeting (its audio is recorded or uploaded in Zendesk afterwards)."""
        body = {"greeting": {"name": name, "category_id": category_id}}
        # One attempt: a create re-sent after a lost answer would make a second greeting; `setup` run
        # again finds the one that landed by its name.
        with _talk():
            return self._send("POST", "channels/voice/greetings.json", body,
                              lambda answer: answer.build(Greeting.from_json, answer.object("greeting")), retry=False)

    def set_line_greetings(self, line_id: int, greeting_ids: Sequence[int]) -> PhoneLine:
        """Replace a phone line's custom greetings (Update Phone Number's greeting_ids); returns the line as stored."""
        with _talk():
            return self._send("PUT", f"channels/voice/phone_numbers/{line_id}.json",
                              {"phone_number": {"greeting_ids": list(greeting_ids)}},
                              lambda answer: answer.build(PhoneLine.from_json, answer.object("phone_number")))

    def _talk_listing(self, key: str, make: Callable[[dict[str, Any]], T]) -> list[T]:
        """A Talk listing, page after page: the Talk API pages by offset (next_page), not by cursor."""
        def read(answer: Answer) -> tuple[list[T], str | None]:
            page = [answer.build(make, data) for data in answer.objects(key)]
            next_page = answer.data.get("next_page")
            if next_page is not None and not isinstance(next_page, str):
                raise answer.bad("'next_page' is not a URL")
            return page, next_page
        found, next_url = self._get(f"channels/voice/{key}.json", read, per_page=100)
        while next_url:
            page, next_url = self._get_url(next_url, read)
            found.extend(page)
        return found

    # -- tickets -------------------------------------------------------------

    def create_problem_ticket(self, subject: str, body: str, priority: str, external_id: str) -> int:
        """Create the incident's problem ticket, once; returns its id.

        A create sent again after a lost answer (made, but the reply never came) would make a second
        ticket. So the ticket carries `external_id`, and before each attempt Zendesk is asked whether it
        exists already: List Tickets by external_id reads the tickets themselves, not the lagging index.
        """
        ticket = {"subject": subject, "type": "problem", "priority": priority, "status": "open",
                  "external_id": external_id, "comment": {"body": body, "public": False}}
        attempts = 0
        while True:
            existing = self._get("tickets.json", lambda answer: [answer.build(_id, t) for t in answer.objects("tickets")],
                                 external_id=external_id)
            if existing:
                return min(existing)
            try:
                return self._send("POST", "tickets.json", {"ticket": ticket},
                                  lambda answer: answer.build(_id, answer.object("ticket")), retry=False)
            except (ZendeskServerError, ZendeskRateLimited, ZendeskUnreachable, ZendeskBadAnswer) as error:
                attempts += 1
                if attempts >= CREATE_ATTEMPTS:
                    raise
                wait = error.retry_after if isinstance(error, ZendeskRateLimited) else self._backoff(attempts)
                log.info("zendesk.create-retry", extra={"endpoint": "POST /api/v2/tickets.json", "wait": wait})
                self._clock.sleep(wait)

    def export_tickets(self, query: str) -> Iterator[list[Ticket]]:
        """Every ticket matching `query`, a page at a time, requesters attached.

        Uses the search export (cursor) endpoint: plain search stops at 1,000 results.
        The type goes in filter[type] only, as the docs require.
        """
        def read(answer: Answer) -> tuple[list[Ticket], str | None]:
            return _tickets(answer, "results"), answer.next_url()
        page, next_url = self._get("search/export.json", read, query=query, **{
            "filter[type]": "ticket", "page[size]": EXPORT_PAGE_SIZE, "include": "users"})
        while True:
            yield self._with_requesters(page)
            if not next_url:
                return
            page, next_url = self._get_url(next_url, read)

    def updated_tickets(self, since: datetime) -> Iterator[list[Ticket]]:
        """Tickets updated since `since`, a page at a time (incremental cursor export).

        Unlike search, it sees tickets Zendesk has not indexed yet; its last minute is not
        served (the docs' rule), which webhooks cover.
        """
        def read(answer: Answer) -> tuple[list[Ticket], str | None]:
            after_url = answer.data.get("after_url")
            if after_url is not None and not isinstance(after_url, str):
                raise answer.bad("'after_url' is not a URL")
            return _tickets(answer, "tickets"), None if answer.data.get("end_of_stream") else after_url
        newest = self._clock.now().timestamp() - INCREMENTAL_MIN_AGE_SECONDS
        page, next_url = self._get("incremental/tickets/cursor.json", read,
                                   start_time=int(min(since.timestamp(), newest)), include="users",
                                   per_page=EXPORT_PAGE_SIZE)
        while True:
            yield self._with_requesters(page)
            if not next_url:
                return
            page, next_url = self._get_url(next_url, read)

    def tickets(self, ids: Iterable[int]) -> list[Ticket]:
        """Tickets by id with their requesters, 100 per call; unknown ids are simply absent."""
        found: list[Ticket] = []
        for batch in chunks(sorted(set(ids))):
            page = self._get("tickets/show_many.json", lambda answer: _tickets(answer, "tickets"), tickets=batch,
                             ids=",".join(map(str, batch)), include="users")
            found.extend(self._with_requesters(page))
        return found

    def comment_bodies(self, ticket_id: int) -> list[str]:
        """A ticket's comments' plain bodies, oldest first (the first page: a hundred, enough to find our note)."""
        def read(answer: Answer) -> list[str]:
            return [str(comment.get("plain_body") or comment.get("body") or "")
                    for comment in answer.objects("comments")]
        return self._get(f"tickets/{ticket_id}/comments.json", read, tickets=[ticket_id])

    def _with_requesters(self, tickets: list[Ticket]) -> list[Ticket]:
        # Sideloads should carry every requester; fetch any that did not come, in bulk.
        missing = {t.requester_id for t in tickets if t.requester_id is not None and t.requester is None}
        if not missing:
            return tickets
        known = self.users(missing)
        return [dataclasses.replace(t, requester=known.get(t.requester_id)) if t.requester is None else t
                for t in tickets]

    # -- comments --------------------------------------------------------

    def comments(self, ticket_id: int) -> list[Comment]:
        """A ticket's comments, oldest first (List Comments).

        https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments
        """
        def read(answer: Answer) -> tuple[list[Comment], str | None]:
            return [answer.build(Comment.from_json, data) for data in answer.objects("comments")], answer.next_url()
        found, next_url = self._get(f"tickets/{ticket_id}/comments.json", read, tickets=[ticket_id],
                                    **{"page[size]": 100})
        while next_url:
            page, next_url = self._get_url(next_url, read)
            found.extend(page)
        return found

    def redact_string(self, ticket_id: int, comment_id: int, text: str) -> None:
        """Replace every character of `text` in the comment by ▇, for good (Redact String in Comment).

        https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#redact-string-in-comment
        Sent again it changes nothing (the string is gone), so the gateway's retries are safe.

        :raises ZendeskHttpError: 422 once the ticket is closed, 404 for a comment gone, 403 without the
            permission ("Agents can delete tickets").
        """
        self._send("PUT", f"tickets/{ticket_id}/comments/{comment_id}/redact.json", {"text": text},
                   lambda answer: answer.object("comment"), tickets=[ticket_id])

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
        # updated_at counts whole seconds: a write landing in the same second as the stamp leaves it
        # unchanged, and a second copy of that write (a lost answer re-sent) would still apply. Stamps
        # that old cannot collide.
        stamps = [item["updated_stamp"] for item in batch if item.get("updated_stamp")]
        if stamps:
            newest = datetime.fromisoformat(max(stamps).replace("Z", "+00:00"))
            wait = (newest + STAMP_SETTLE - self._clock.now()).total_seconds()
            if wait > 0:
                self._clock.sleep(wait)
        # Plain JSON: the items are already Zendesk ticket objects, and building zenpy
        # objects for them cost more CPU than the rest of a declare.
        return self._send("PUT", "tickets/update_many.json", {"tickets": list(batch)},
                          lambda answer: answer.text(answer.object("job_status"), "id"),
                          tickets=[int(item["id"]) for item in batch])

    def merge_tickets(self, target_id: int, source_ids: Sequence[int], target_comment: str, source_comment: str,
                      public: bool = False) -> str:
        """Queue Zendesk's merge of the sources into the target (Merge Tickets into Target Ticket); returns the
        job's id. Not retried: a merge re-sent after a lost answer is settled by re-reading the source."""
        payload = {"ids": list(source_ids), "target_comment": target_comment, "source_comment": source_comment,
                   "target_comment_is_public": public, "source_comment_is_public": public}
        return self._send("POST", f"tickets/{target_id}/merge.json", payload,
                          lambda answer: answer.text(answer.object("job_status"), "id"),
                          tickets=[target_id, *source_ids], retry=False)

    def job_status(self, job_id: str) -> dict[str, Any]:
        """One job's status: id, status, and its results with their errors (redacted)."""
        return self._job_statuses([job_id])[0]

    def _job_statuses(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """The jobs' statuses as the bulk writer reads them: id, status, and results with int ids."""
        def read(answer: Answer) -> list[dict[str, Any]]:
            return [answer.build(lambda data: _job_status(data, answer.redact), data)
                    for data in answer.objects("job_statuses")]
        statuses: list[dict[str, Any]] = []
        for batch in chunks(job_ids):
            statuses.extend(self._get("job_statuses/show_many.json", read, ids=",".join(batch)))
        return statuses


@contextmanager
def _talk() -> Iterator[None]:
    """A Talk call: its 403 means no Talk here (credentials that work elsewhere), said as such."""
    try:
        yield
    except ZendeskAuthError as error:
        if error.status_code == 403:
            raise TalkUnavailable(error) from None
        raise


class _Bearer(requests.auth.AuthBase):
    """An OAuth bearer token for one request."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _id(data: dict[str, Any]) -> int:
    if isinstance(data["id"], bool):
        raise TypeError(f"id {data['id']!r} is not a number")
    return int(data["id"])


def _with_id(answer: Answer, key: str) -> dict[str, Any]:
    data = answer.object(key)
    answer.text(data, "id")  # numbers for most objects, strings for webhooks
    return data


def _users(answer: Answer) -> list[User]:
    return [answer.build(User.from_json, data) for data in answer.objects("users")]


def _tickets(answer: Answer, key: str) -> list[Ticket]:
    """The tickets under `key`, each with its requester if the answer sideloaded it."""
    known = {user.id: user for user in
             (answer.build(User.from_json, data) for data in answer.objects("users", optional=True))}
    return [answer.build(lambda data: Ticket.from_json(data, known), data) for data in answer.objects(key)]


def _dropdown(data: dict[str, Any]) -> DropdownField:
    options = {o["name"]: o["value"] for o in data.get("custom_field_options") or ()}
    return DropdownField(id=_id(data), title=data.get("title") or "", options=options)


def _job_status(data: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    if not isinstance(data["id"], (str, int)) or not isinstance(data["status"], str):
        raise TypeError("a job status needs a string id and status")
    results = data.get("results") or []
    if not isinstance(results, list):
        raise TypeError("'results' is not a list")
    return {"id": str(data["id"]), "status": data["status"], "results": [_job_result(r, redact) for r in results]}


def _job_result(result: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    # A failed ticket's error and details become its reason, shown by the CLI and logged.
    said = {key: redact(str(result[key])) for key in ("error", "details") if result.get(key) is not None}
    return {**result, **said, **({"id": _id(result)} if result.get("id") is not None else {})}
