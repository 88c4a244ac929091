"""A Zendesk macro read into what Outage Desk sends: its reply and its other ticket changes.

Outage Desk applies a macro itself, in the update items it sends to update_many, the way Zendesk
applies one in the agent workspace. What it cannot apply safely on an agent's behalf, and any reply
a customer would receive empty, is refused when the macro is read, naming the macro and the action.

Sources:
- Macros API: https://developer.zendesk.com/api-reference/ticketing/business-rules/macros/
- Actions reference (field names and values, "Additional actions for macros"):
  https://developer.zendesk.com/documentation/ticketing/reference-guides/actions-reference/
- Ticket comments (`body`, `html_body`, `public`, `author_id`, written through the Tickets API):
  https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from app.errors import InputError
from app.zendesk.query import PRIORITIES, TICKET_TYPES

# Every ledger tag Outage Desk writes starts so (outage_desk_closed_12, outage_desk_acknowledged …).
MARKER_PREFIX = "outage_desk_"
MACRO_STATUSES = ("open", "pending", "hold", "solved")  # macros can't set "new" or "closed"
CURRENT_USER = "current_user"
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_SET_TAGS_REFUSAL = ("it would replace the ticket's tags, stripping the outage tag, the contact reason's option tag "
                    "and Outage Desk's ledger markers; use current_tags (add tags) and remove_tags instead")
_UNSUPPORTED = ("Outage Desk applies only the reply, status, priority, type, subject, group, assignee, custom "
               "status, tags added or removed and custom fields; remove the action from the macro")


def html_text(html: str) -> str:
    """The text a reader sees in `html`: tags dropped, entities decoded, one line per block."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextOf(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "table", "blockquote", "pre",
                         "h1", "h2", "h3", "h4", "h5", "h6"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def variant_language(title: str, name: str) -> str | None:
    """The language of a macro titled `title` in the family `name`: "" for `name` itself,
    "fr" for "<name> (fr)", None for a macro outside it."""
    if title == name:
        return ""
    if title.startswith(f"{name} (") and title.endswith(")"):
        return title[len(name) + 2:-1]
    return None


def macro_name(macro_id: int | None, title: str) -> str:
    """How messages name a macro: its title and, once Zendesk has given it one, its id."""
    return f"macro {title!r}" + (f" #{macro_id}" if macro_id is not None else "")


def _visible(text: str) -> str:
    # str.strip() already drops &nbsp; (U+00A0); zero-width characters are not whitespace to Python.
    return text.translate(_INVISIBLE).strip()


@dataclass(frozen=True)
class Macro:
    """A macro's reply (plain `body` or rich-text `html_body`, public or not) and ticket changes."""

    id: int | None
    title: str
    body: str | None = None  # comment_value
    html_body: str | None = None  # comment_value_html: what Zendesk's rich-text editor saves
    public: bool = True
    fields: tuple[tuple[str, Any], ...] = ()  # ticket attributes set; "current_user" resolved on apply
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    custom_fields: tuple[tuple[int, Any], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Macro:
        """Read a macro as the Macros API returns it (or as macros/*.json define it).

        :raises InputError: an action Outage Desk cannot apply, or a reply that would be empty;
            the message names the macro and the action.
        """
        reader = _Reader(data.get("id"), data.get("title") or "")
        for action in data.get("actions") or ():
            reader.read(str(action.get("field")), action.get("value"))
        return reader.macro()

    @property
    def name(self) -> str:
        return macro_name(self.id, self.title)

    @property
    def comment(self) -> str:
        """The reply as plain text (the text of the rich-text reply when there is one)."""
        return html_text(self.html_body) if self.html_body is not None else self.body or ""

    @property
    def status(self) -> str | None:
        return dict(self.fields).get("status")

    def check_removals(self, protected_tags: Iterable[str]) -> None:
        """Refuse a macro whose remove_tags would take off a tag the outage process relies on.

        :raises InputError: naming the macro, the action and the tags.
        """
        hit = sorted(set(self.remove_tags) & {tag.lower() for tag in protected_tags})
        if hit:
            raise InputError(f"{self.name}: action remove_tags cannot be applied by Outage Desk: it would remove "
                             f"{', '.join(hit)}, which the outage process relies on")

    def apply_to(self, item: dict[str, Any], author_id: int, protected_tags: Iterable[str] = ()) -> dict[str, Any]:
        """A new update item: `item` (a ticket object for update_many) with this macro applied.

        The reply becomes `comment` ({html_body or body, public, author_id}); status, priority,
        type, subject, group_id, assignee_id ("current_user" is the author) and custom_status_id
        are set; current_tags join `additional_tags`, remove_tags join `remove_tags`, and
        custom_fields_<id> join `custom_fields`. Where `item` already sets an attribute, a tag or a
        custom field, its value wins: Outage Desk set it on purpose.

        :raises InputError: remove_tags would remove one of `protected_tags`.
        :raises ValueError: `item` already carries a comment (one update holds one comment).
        """
        if "comment" in item:
            raise ValueError(f"ticket {item.get('id')}: the update already carries a comment")
        self.check_removals(protected_tags)
        applied = dict(item)
        comment: dict[str, Any] = {"html_body": self.html_body} if self.html_body is not None else {"body": self.body}
        applied["comment"] = {**comment, "public": self.public, "author_id": author_id}
        for name, value in self.fields:
            applied.setdefault(name, author_id if (name, value) == ("assignee_id", CURRENT_USER) else value)
        ours = list(item.get("additional_tags") or ())
        added = ours + [tag for tag in self.add_tags if tag not in ours]
        if added:
            applied["additional_tags"] = added
        removed = list(item.get("remove_tags") or ())
        # A tag this very update adds stays: the macro never undoes Outage Desk's own markers.
        removed += [tag for tag in self.remove_tags if tag not in ours and tag not in removed]
        if removed:
            applied["remove_tags"] = removed
        fields = list(item.get("custom_fields") or ())
        set_ids = {entry["id"] for entry in fields}
        fields += [{"id": field_id, "value": value} for field_id, value in self.custom_fields if field_id not in set_ids]
        if fields:
            applied["custom_fields"] = fields
        return applied


class _Reader:
    """Reads a macro's actions in order, as Zendesk applies them (a later action wins)."""

    def __init__(self, macro_id: Any, title: str):
        self.macro_id = int(macro_id) if macro_id is not None else None
        self.title = title
        self.body: str | None = None
        self.html_body: str | None = None
        self.public = True
        self.fields: dict[str, Any] = {}
        self.add_tags: list[str] = []
        self.remove_tags: list[str] = []
        self.custom_fields: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return macro_name(self.macro_id, self.title)

    def refuse(self, field: str, reason: str) -> InputError:
        return InputError(f"{self.name}: action {field} cannot be applied by Outage Desk: {reason}")

    def read(self, field: str, value: Any) -> None:
        if field == "comment_value":
            self.body = self._comment_text(field, value)
        elif field == "comment_value_html":
            self.html_body = self._comment_text(field, value)
        elif field == "comment_mode_is_public":
            # Stored macros hold a boolean or the string "true"/"false"; both mean the same.
            if value not in (True, False, "true", "false"):
                raise self.refuse(field, f"{value!r} is not true or false")
            self.public = value in (True, "true")
        elif field == "status":
            self.fields[field] = self._one_of(field, value, MACRO_STATUSES)
        elif field == "priority":
            self.fields[field] = self._one_of(field, value, PRIORITIES)
        elif field == "type":
            self.fields[field] = self._one_of(field, value, TICKET_TYPES)
        elif field == "subject":
            self.fields[field] = self._subject(value)
        elif field in ("group_id", "assignee_id"):
            self.fields[field] = self._assignment(field, value)
        elif field == "custom_status_id":
            self.fields[field] = self._id(field, value)
        elif field == "current_tags":
            self.add_tags += [tag for tag in self._tags(field, value) if tag not in self.add_tags]
        elif field == "remove_tags":
            self.remove_tags += [tag for tag in self._tags(field, value) if tag not in self.remove_tags]
        elif field.startswith("custom_fields_") and field.removeprefix("custom_fields_").isdigit():
            self.custom_fields[int(field.removeprefix("custom_fields_"))] = value
        elif field == "set_tags":
            raise self.refuse(field, _SET_TAGS_REFUSAL)
        else:
            raise self.refuse(field, _UNSUPPORTED)

    def macro(self) -> Macro:
        self._check_reply()
        markers = [tag for tag in self.remove_tags if tag.startswith(MARKER_PREFIX)]
        if markers:
            raise self.refuse("remove_tags", f"it would remove {', '.join(markers)}, Outage Desk's own ledger "
                                             "markers, and the same customer could be written to twice")
        return Macro(id=self.macro_id, title=self.title, body=self.body, html_body=self.html_body,
                     public=self.public, fields=tuple(self.fields.items()), add_tags=tuple(self.add_tags),
                     remove_tags=tuple(self.remove_tags), custom_fields=tuple(self.custom_fields.items()))

    def _check_reply(self) -> None:
        """Refuse a macro whose reply would reach the customer empty."""
        if self.html_body is not None:
            # The rich-text reply is the one sent, even beside an older plain comment_value.
            field, text = "comment_value_html", html_text(self.html_body)
        elif self.body is not None:
            field, text = "comment_value", self.body
        else:
            raise InputError(f"{self.name}: it has no reply (no comment_value or comment_value_html action); "
                             "Outage Desk never sends an empty reply: write the text in the macro in Zendesk")
        if not _visible(text):
            raise InputError(f"{self.name}: action {field} has no text, so the customer would get an empty email; "
                             "Outage Desk never sends an empty reply: write the text in the macro in Zendesk")
        if not _visible(_PLACEHOLDER.sub("", text)):
            raise InputError(f"{self.name}: action {field} holds only placeholders, which can render empty; "
                             "Outage Desk never sends an empty reply: add text to the macro in Zendesk")

    def _comment_text(self, field: str, value: Any) -> str:
        # A string, or ["channel:all", text] as the admin interface saves it.
        if isinstance(value, str):
            return value
        if isinstance(value, list) and len(value) == 2 and all(isinstance(part, str) for part in value):
            return value[1]
        raise self.refuse(field, f"{value!r} is neither text nor [\"channel:all\", text]")

    def _one_of(self, field: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.refuse(field, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def _subject(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.refuse("subject", "the subject would be empty")
        if _PLACEHOLDER.search(value):
            # The Tickets API writes a subject as given: the customer would read the raw placeholder.
            raise self.refuse("subject", "placeholders in a subject are not rendered when it is set through the API")
        return value

    def _assignment(self, field: str, value: Any) -> int | str | None:
        if value == "":
            return None  # "" unassigns: null in the Tickets API
        if field == "assignee_id" and value == CURRENT_USER:
            return CURRENT_USER
        return self._id(field, value)

    def _id(self, field: str, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise self.refuse(field, f"{value!r} is not an id Outage Desk can set through the API")

    def _tags(self, field: str, value: Any) -> list[str]:
        # A space-delimited string per the Actions reference; a list is accepted too. Zendesk lower-cases tags.
        if isinstance(value, str):
            return value.lower().split()
        if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
            return [tag.lower() for part in value for tag in part.split()]
        raise self.refuse(field, f"{value!r} is not a space-delimited list of tags")
