"""The small types the gateway returns, so zenpy objects never reach the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Macros are read, checked and applied in their own module; the gateway's types stay importable from here.
from app.zendesk.macro import Macro as Macro

AGENT_ROLES = frozenset({"agent", "admin"})


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None
    locale: str | None
    role: str
    phone: str | None = None
    tags: tuple[str, ...] = ()
    suspended: bool = False

    @property
    def is_agent(self) -> bool:
        return self.role in AGENT_ROLES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(id=int(data["id"]), name=data.get("name") or "", email=data.get("email"),
                   locale=data.get("locale"), role=data.get("role") or "end-user", phone=data.get("phone"),
                   tags=tuple(data.get("tags") or ()),
                   suspended=data.get("suspended") is True or data.get("active") is False)


@dataclass(frozen=True)
class Ticket:
    id: int
    status: str
    subject: str
    description: str
    priority: str | None
    type: str | None
    problem_id: int | None
    requester_id: int | None
    assignee_id: int | None
    group_id: int | None
    tags: tuple[str, ...]
    custom_fields: dict[int, Any]
    channel: str | None
    via_rel: str | None
    created_at: str
    updated_at: str
    requester: User | None = None
    organization_id: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any], users: dict[int, User]) -> Ticket:
        via = data.get("via") or {}
        requester_id = data.get("requester_id")
        return cls(
            id=int(data["id"]),
            status=data.get("status") or "new",
            subject=data.get("subject") or "",
            description=data.get("description") or "",
            priority=data.get("priority"),
            type=data.get("type"),
            problem_id=data.get("problem_id"),
            requester_id=requester_id,
            assignee_id=data.get("assignee_id"),
            group_id=data.get("group_id"),
            tags=tuple(data.get("tags") or ()),
            custom_fields={int(f["id"]): f.get("value") for f in data.get("custom_fields") or ()},
            channel=via.get("channel"),
            via_rel=(via.get("source") or {}).get("rel"),
            created_at=data.get("created_at") or "",
            updated_at=data.get("updated_at") or "",
            requester=users.get(requester_id) if requester_id is not None else None,
            organization_id=data.get("organization_id"),
        )

    def search_document(self) -> dict[str, Any]:
        """The ticket in Zendesk's JSON field names, for the search-query matcher."""
        return {
            "id": self.id, "status": self.status, "subject": self.subject, "description": self.description,
            "priority": self.priority, "type": self.type, "requester_id": self.requester_id,
            "assignee_id": self.assignee_id, "tags": list(self.tags), "created_at": self.created_at,
            "updated_at": self.updated_at, "via": {"channel": self.channel, "source": {"rel": self.via_rel}},
        }


@dataclass(frozen=True)
class Comment:
    """One comment of a ticket (List Comments); `text` is its plain body."""

    id: int
    author_id: int | None
    public: bool
    text: str
    created_at: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comment:
        return cls(id=int(data["id"]), author_id=data.get("author_id"), public=data.get("public") is not False,
                   text=data.get("plain_body") or data.get("body") or "", created_at=data.get("created_at") or "")


@dataclass(frozen=True)
class DropdownField:
    id: int
    title: str
    options: dict[str, str]  # option name -> option value (the tag Zendesk writes)

    def option_value(self, name_or_value: str) -> str | None:
        """The tag for an option given by its display name or its tag."""
        if name_or_value in self.options:
            return self.options[name_or_value]
        return name_or_value if name_or_value in self.options.values() else None


@dataclass
class BulkOutcome:
    """What update_many jobs did to a set of changes, ticket by ticket."""

    succeeded: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)  # ticket id -> "Error: details"


@dataclass(frozen=True)
class QueueActivity:
    """Talk's live queue (Show Current Queue Activity): callers waiting for an agent, and for a call back."""

    calls_waiting: int
    callbacks_waiting: int
    average_wait_time: int
    longest_wait_time: int
    agents_online: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueueActivity:
        return cls(**{name: _count(data, name) for name in
                      ("calls_waiting", "callbacks_waiting", "average_wait_time", "longest_wait_time",
                       "agents_online")})


@dataclass(frozen=True)
class PhoneLine:
    """A Talk phone number and the custom greetings it plays, in Zendesk's order."""

    id: int
    number: str
    country_code: str | None
    nickname: str | None
    greeting_ids: tuple[int, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhoneLine:
        return cls(id=_integer(data["id"]), number=str(data.get("display_number") or data.get("number") or ""),
                   country_code=data.get("country_code"), nickname=data.get("nickname"),
                   greeting_ids=tuple(_integer(value) for value in data.get("greeting_ids") or ()))


@dataclass(frozen=True)
class Greeting:
    """A Talk greeting: what a line plays in one category (voicemail, available, wait...)."""

    id: int
    name: str
    category_id: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Greeting:
        return cls(id=_integer(data["id"]), name=str(data.get("name") or ""),
                   category_id=_integer(data["category_id"]))


def _count(data: dict[str, Any], key: str) -> int:
    """A whole number Zendesk must send (0 when it sends null, as stats do for an idle queue)."""
    value = data[key]
    return 0 if value is None else _integer(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise TypeError(f"{value!r} is not a whole number")
    return int(value)
