"""A realistic "API down" outage account for a French-founded SaaS, for demos and end-to-end tests.

Texts and names live in seed_data/*.json. Abandoned-call tickets mention the API in their
description ("IVR menu choice: 2 - API / integrations"), so a free-text `API` search finds them,
as it would once a caller picked the API branch of the phone menu.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

from zendesk_sandbox import tickets
from zendesk_sandbox.html_text import text_to_rich_html
from zendesk_sandbox.state import API_USER_ID, SandboxState
from zendesk_sandbox.timefmt import iso

LANGUAGE_WEIGHTS = {"fr": 35, "en-US": 30, "es": 12, "ru": 10, "de": 7, "pt-BR": 6}
CONTACT_REASONS = [
    ("Technical Issue::TI/Status Wavy", "technical_issue__ti_status_wavy"),
    ("Technical Issue::Bug", "technical_issue__bug"),
    ("Technical Issue::Login", "technical_issue__login"),
    ("Billing::Invoice", "billing__invoice"),
    ("Billing::Payment method", "billing__payment_method"),
    ("Account::Users and seats", "account__users_and_seats"),
    ("Question::How to", "question__how_to"),
]
BUSINESS_IMPACTS = [
    ("1 - Cannot use the product", "impact_1"),
    ("2 - Major degradation", "impact_2"),
    ("3 - Minor issue", "impact_3"),
    ("4 - Question", "impact_4"),
]
ABANDON_TAGS = ("voice_abandoned_in_queue", "voice_abandoned_in_ivr", "voice_abandoned_in_voicemail")
# Numbers in use drawn in a row before a phone pattern counts as used up and gets one more free digit.
# Even at 90% full, 50 in a row come once in 200 draws; an exhausted pattern would never end the draw.
PHONE_DRAWS = 50
TRIAGE_NOTES = {
    True: "Linked to the ongoing API incident, waiting for the dev team.",
    False: "Looking into this one, will get back to the customer shortly.",
}


@dataclass
class SeedSummary:
    """What seed_outage created; ticket ids are grouped by kind."""

    tickets: int = 0
    api_user_id: int = API_USER_ID
    referent_id: int = 0
    agent_ids: list[int] = field(default_factory=list)
    contact_reason_field_id: int = 0
    business_impact_field_id: int = 0
    macro_ids: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    unknown_callers: int = 0
    # Customers writing about the outage; internal = agents reporting it; noise = unrelated requests;
    # api_questions = unrelated requests that still say "API" (a free-text search finds them too).
    outage_ticket_ids: list[int] = field(default_factory=list)
    internal_ticket_ids: list[int] = field(default_factory=list)
    noise_ticket_ids: list[int] = field(default_factory=list)
    api_question_ticket_ids: list[int] = field(default_factory=list)


def seed_outage(
    state: SandboxState,
    *,
    tickets: int = 600,
    seed: int = 7,
    start: datetime,
    end: datetime | None = None,
    macros: Iterable[dict] = (),
    rich_text_macros: bool = False,
) -> SeedSummary:
    """Fill `state` with agents, customers, fields, macros and `tickets` tickets created between start and end.

    `macros` are macro objects as the Macros API takes them (title, actions, ...): the caller's own,
    already in the account as its set-up would have created them; `rich_text_macros` stores them as an
    admin re-saving them in Zendesk's editor would (comment_value_html). Deterministic for a given seed,
    start and end (end defaults to now).
    """
    end = end or datetime.now(timezone.utc)
    if end <= start:
        raise ValueError("end must be after start")
    builder = _Builder(state, random.Random(seed), start, end)
    with state.lock:
        builder.account([as_rich_text(macro) if rich_text_macros else macro for macro in macros])
        for moment, kind in builder.schedule(tickets):
            builder.ticket(moment, kind)
    return builder.finish()


@cache
def load_macros(folder: Path) -> list[dict]:
    """The macro objects of `folder`'s *.json files, each {"macro": {...}} as the Macros API takes it."""
    return [json.loads(path.read_text(encoding="utf-8"))["macro"] for path in sorted(Path(folder).glob("*.json"))]


def as_rich_text(macro: dict) -> dict:
    """The macro as Zendesk's rich-text editor saves it: its comment_value becomes comment_value_html."""
    actions = []
    for action in macro["actions"]:
        if action["field"] == "comment_value":
            value = action["value"]
            text = value[-1] if isinstance(value, list) else str(value)
            action = {"field": "comment_value_html", "value": text_to_rich_html(text)}
        actions.append(action)
    return {**macro, "actions": actions}


def _data(name: str) -> dict:
    return json.loads((resources.files("zendesk_sandbox") / "seed_data" / name).read_text(encoding="utf-8"))


def _name_part(entry: str | list[str]) -> tuple[str, str]:
    """(display, ascii) of a name; Russian entries carry their own transliteration."""
    return (entry, _ascii(entry)) if isinstance(entry, str) else (entry[0], entry[1])


def _wider(pattern: str) -> str:
    """The phone pattern with its last fixed digit free: ten times the numbers, in the same format."""
    last = max(i for i, ch in enumerate(pattern) if ch.isdigit())
    return f"{pattern[:last]}#{pattern[last + 1:]}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == "-"))


class _Builder:
    def __init__(self, state: SandboxState, rng: random.Random, start: datetime, end: datetime):
        self.state, self.rng, self.start, self.end = state, rng, start, end
        self.people, self.messages = _data("people.json"), _data("messages.json")
        self.summary = SeedSummary()
        self.customers: dict[str, list[dict]] = {language: [] for language in LANGUAGE_WEIGHTS}
        self.callers: dict[str, list[dict]] = {language: [] for language in LANGUAGE_WEIGHTS}
        self.emails: set[str] = set()
        self.phone_patterns = {language: self.people[language]["phone"] for language in LANGUAGE_WEIGHTS}
        self.agents: list[dict] = []
        self.counts = {"channel": Counter(), "language": Counter(), "status": Counter()}
        self.since = iso(start - timedelta(days=400))

    def account(self, macros: list[dict]) -> None:
        """Agents, the product referent, ticket fields, the caller's macros and some of the account's own."""
        add = self.state.add_user
        referent = add(
            "Camille Referent", email="referent@example.com", role="agent", locale="fr", created_at=self.since
        )
        for agent in self.people["agents"]:
            email = f"{'.'.join(_ascii(part) for part in agent['name'].split())}@example.com"
            self.agents.append(
                add(agent["name"], email=email, role="agent", locale=agent["locale"], created_at=self.since)
            )
        self.summary.referent_id = referent["id"]
        self.summary.agent_ids = [agent["id"] for agent in self.agents]
        contact = self.state.add_ticket_field("Contact reason", CONTACT_REASONS, created_at=self.since)
        impact = self.state.add_ticket_field("Business impact", BUSINESS_IMPACTS, created_at=self.since)
        self.summary.contact_reason_field_id, self.summary.business_impact_field_id = contact["id"], impact["id"]
        self._macros(macros)

    def schedule(self, count: int) -> list[tuple[datetime, str]]:
        """(created time, kind) of every ticket, oldest first, so ids grow with time."""
        span = (self.end - self.start).total_seconds()
        rows = []
        for _ in range(count):
            roll = self.rng.random()
            kind = (
                "noise" if roll < 0.13 else "api_question" if roll < 0.15 else "internal" if roll < 0.18 else "outage"
            )
            # Outage contacts surge soon after the start and taper off; other requests arrive evenly.
            share = self.rng.betavariate(1.3, 3.0) if kind in ("outage", "internal") else self.rng.random()
            rows.append((self.start + timedelta(seconds=share * span), kind))
        rows.sort(key=lambda row: row[0])
        return rows

    def ticket(self, moment: datetime, kind: str) -> None:
        """Create one ticket of `kind` created at `moment`."""
        rng = self.rng
        language = rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]
        if kind == "internal":
            channel, rel, label = "web", None, "web"
            requester = rng.choice(self.agents)
        else:
            channel, rel, label = self._channel(kind)
            requester = self._requester(language, channel, moment)
        text = self._text(kind, label, language, requester, moment)
        assignee = self._assignee(kind, label)
        status = self._status(assignee, kind)
        spec = {
            "subject": text[0],
            "comment": {"body": text[1], "public": True, "author_id": requester["id"]},
            "requester_id": requester["id"],
            "submitter_id": requester["id"],
            "assignee_id": assignee,
            "status": status,
            "priority": self._priority(kind),
            "tags": [
                tag for tag in (label if label in ABANDON_TAGS else None, "vip" if rng.random() < 0.03 else None) if tag
            ],
            "custom_fields": self._fields(kind, assignee),
        }
        created = tickets.create_ticket(
            self.state,
            spec,
            actor_id=requester["id"],
            now=moment,
            via_=tickets.customer_via(channel, rel, requester),
            created_at=iso(moment),
        ).ticket
        if assignee and status in ("open", "pending", "hold") and rng.random() < 0.5:
            self._triage_note(created, assignee, moment, about_outage=kind in ("outage", "internal"))
        elif status in ("solved", "closed"):
            created["updated_at"] = iso(min(self.end, moment + timedelta(minutes=rng.uniform(5, 90))))
        self._count(created, kind, requester, label)

    def finish(self) -> SeedSummary:
        """The summary, counters included."""
        self.summary.by_channel = dict(self.counts["channel"])
        self.summary.by_language = dict(self.counts["language"])
        self.summary.by_status = dict(self.counts["status"])
        return self.summary

    def _macros(self, macros: list[dict]) -> None:
        for macro in macros:
            added = self.state.add_macro(
                macro["title"],
                macro["actions"],
                description=macro.get("description"),
                active=macro.get("active", True),
                created_at=self.since,
            )
            self.summary.macro_ids[macro["title"]] = added["id"]
        for other in _data("macros.json")["other"]:
            macro = self.state.add_macro(
                other["title"], other["actions"], active=other["active"], created_at=self.since
            )
            self.summary.macro_ids[other["title"]] = macro["id"]

    def _channel(self, kind: str) -> tuple[str, str | None, str]:
        """(via channel, voice rel, summary label)."""
        rng = self.rng
        if kind != "outage":
            channel = rng.choices(("email", "web", "chat"), weights=(70, 20, 10))[0]
            return channel, None, channel
        channel = rng.choices(("email", "chat", "voice", "web"), weights=(45, 20, 30, 5))[0]
        if channel != "voice":
            return channel, None, channel
        call = rng.choices(("inbound", "voicemail", "abandoned"), weights=(40, 25, 35))[0]
        if call == "abandoned":
            # Abandoned calls ring in and hang up; Talk records them as inbound calls with a tag.
            return "voice", "inbound", rng.choices(ABANDON_TAGS, weights=(50, 30, 20))[0]
        return "voice", call, "voice_inbound" if call == "inbound" else "voicemail"

    def _requester(self, language: str, channel: str, moment: datetime) -> dict:
        rng = self.rng
        if channel == "voice" and rng.random() < 0.45:
            # An unknown caller: Zendesk creates a new end user named after the number.
            phone = self._phone(language)
            self.summary.unknown_callers += 1
            return self.state.add_user(phone, phone=phone, locale=language, created_at=iso(moment))
        pool = self.callers[language] if channel == "voice" else self.customers[language]
        if pool and rng.random() < 0.25:
            return rng.choice(pool)
        return self._customer(language, with_phone=channel == "voice")

    def _customer(self, language: str, *, with_phone: bool) -> dict:
        rng, people = self.rng, self.people[language]
        first, first_ascii = _name_part(rng.choice(people["first"]))
        last, last_ascii = _name_part(rng.choice(people["last"]))
        local, domain = f"{first_ascii}.{last_ascii}", rng.choice(people["domains"])
        email, suffix = f"{local}@{domain}", 2
        while email in self.emails:
            email, suffix = f"{local}{suffix}@{domain}", suffix + 1
        self.emails.add(email)
        phone = self._phone(language) if with_phone or rng.random() < 0.4 else None
        user = self.state.add_user(f"{first} {last}", email=email, phone=phone, locale=language, created_at=self.since)
        self.customers[language].append(user)
        if phone:
            self.callers[language].append(user)
        return user

    def _phone(self, language: str) -> str:
        """An unused number of the language's pattern, widened for good once it is (nearly) used up."""
        while True:
            pattern = self.phone_patterns[language]
            for _ in range(PHONE_DRAWS):
                phone = "".join(str(self.rng.randrange(10)) if ch == "#" else ch for ch in pattern)
                if self.state.user_by_phone(phone) is None:
                    return phone
            self.phone_patterns[language] = _wider(pattern)

    def _text(self, kind: str, label: str, language: str, requester: dict, moment: datetime) -> tuple[str, str]:
        """(subject, description) in the requester's language."""
        rng, words = self.rng, self.messages[language]
        noticed = max(self.start, moment - timedelta(minutes=rng.randint(1, 20)))
        values = {"name": requester["name"], "time": f"{noticed:%H:%M}", "phone": requester["phone"] or ""}
        if kind == "internal":
            subject, body = rng.choice(self.messages["internal"])
        elif kind in ("noise", "api_question"):
            subject, body = rng.choice(words["noise" if kind == "noise" else "api_questions"])
        elif label in ("email", "web"):
            subject, body = rng.choice(words["outage_subjects"]), rng.choice(words["outage_bodies"])
        elif label == "chat":
            subject, body = f"Chat with {requester['name']}", rng.choice(words["chat_lines"])
        else:
            return self._voice_text(label, language, values)
        if label == "chat":
            # A chat ticket's description is the transcript.
            body = f"Chat started: {moment:%Y-%m-%d %H:%M} UTC\n\n({moment:%H:%M}) {requester['name']}: {body}"
        return subject.format(**values), body.format(**values)

    def _voice_text(self, label: str, language: str, values: dict) -> tuple[str, str]:
        """Talk's call summary: who called, when, and the agent note or voicemail transcript."""
        rng, voice, words = self.rng, self.messages["voice"], self.messages[language]
        details = {
            "agent": rng.choice(self.agents)["name"],
            "minutes": rng.randint(2, 14),
            "seconds": rng.randint(12, 75),
            "note": rng.choice(words["call_notes"]).format(**values),
            "transcript": rng.choice(words["voicemails"]).format(**values),
            "status": voice["abandoned_status"].get(label, ""),
        }
        key = {"voice_inbound": "inbound", "voicemail": "voicemail"}.get(label, "abandoned")
        return voice[f"{key}_subject"].format(**values), voice[f"{key}_body"].format(**values, **details)

    def _assignee(self, kind: str, label: str) -> int | None:
        if kind == "internal":
            return self.summary.referent_id
        if label in ABANDON_TAGS or self.rng.random() >= 0.40:
            return None
        return self.rng.choice(self.agents)["id"]

    def _status(self, assignee: int | None, kind: str) -> str:
        if assignee is None:
            return "new"
        if kind == "internal":
            return "open"
        return self.rng.choices(("open", "pending", "hold", "solved", "closed"), weights=(55, 25, 7.5, 8, 4.5))[0]

    def _priority(self, kind: str) -> str | None:
        if kind in ("outage", "internal"):
            return self.rng.choices((None, "normal", "high", "urgent"), weights=(40, 35, 20, 5))[0]
        return self.rng.choices((None, "low", "normal"), weights=(60, 5, 35))[0]

    def _fields(self, kind: str, assignee: int | None) -> list[dict]:
        rng, values = self.rng, []
        impact = None
        if kind == "outage" and rng.random() < 0.06:
            impact = rng.choices(("impact_1", "impact_2"), weights=(60, 40))[0]
        elif kind in ("noise", "api_question") and rng.random() < 0.10:
            impact = rng.choice(("impact_3", "impact_4"))
        if impact:
            values.append({"id": self.summary.business_impact_field_id, "value": impact})
        if assignee and rng.random() < 0.5:
            reason = {
                "outage": "technical_issue__ti_status_wavy",
                "internal": "technical_issue__ti_status_wavy",
                "api_question": "question__how_to",
            }.get(kind) or rng.choice(("billing__invoice", "billing__payment_method", "account__users_and_seats"))
            values.append({"id": self.summary.contact_reason_field_id, "value": reason})
        return values

    def _triage_note(self, ticket: dict, assignee: int, moment: datetime, *, about_outage: bool) -> None:
        """A private note from the assignee a little later (moves updated_at, sends nothing).

        Search reads comments too, so only outage tickets' notes may mention the API.
        """
        when = min(self.end, moment + timedelta(minutes=self.rng.uniform(1, 40)))
        note = {
            "body": TRIAGE_NOTES[about_outage],
            "public": False,
            "author_id": assignee,
        }
        tickets.update_ticket(self.state, ticket["id"], {"comment": note}, actor_id=assignee, now=when)

    def _count(self, ticket: dict, kind: str, requester: dict, label: str) -> None:
        self.summary.tickets += 1
        getattr(self.summary, f"{kind}_ticket_ids").append(ticket["id"])
        self.counts["channel"][label if label not in ABANDON_TAGS else "voice_abandoned"] += 1
        self.counts["language"][requester["locale"]] += 1
        self.counts["status"][ticket["status"]] += 1
