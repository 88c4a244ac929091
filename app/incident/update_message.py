"""What an interim update says: one text per language (a message file, or the sidebar's body), or a macro family.

A message file is either JSON, one text per language ({"en": "…", "fr": "…"}), or plain text: the one text, in
the account's default language. The default language is required either way: it is what a requester whose
language has no text of its own gets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError

# A language as Zendesk's locales name them: en, fr, pt-BR, zh-hant …
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?")
# Zendesk refuses a comment much over 64 KB; a status update is a few lines.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class UpdateMessage:
    """Texts by language, or the title of a macro family ("<title> (<lang>)" variants)."""

    texts: dict[str, str] | None = None
    macro: str | None = None

    def stored(self) -> tuple[str | None, str | None]:
        """As the store keeps it: the same message always reads the same, so a rerun finds its update."""
        return (json.dumps(self.texts, sort_keys=True, ensure_ascii=False) if self.texts else None), self.macro


def message_from_file(path: str, default_language: str) -> UpdateMessage:
    """:raises InputError: the file is missing, unreadable, empty, malformed, or lacks the default language."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no message file {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the message file {path}: {type(error).__name__}") from None
    if not raw.strip():
        raise InputError(f"the message file {path} is empty")
    if raw.lstrip().startswith("{"):
        try:
            texts = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InputError(f"the message file {path} is not valid JSON (line {error.lineno}): "
                             'write {"en": "…", "fr": "…"} or plain text') from None
        except ValueError:  # a number of more than 4300 digits, which Python refuses to read
            raise InputError(f"the message file {path} has a number too long to be read") from None
        return message_from_texts(texts, default_language)
    return message_from_texts({default_language: raw}, default_language)


def message_from_texts(texts: object, default_language: str) -> UpdateMessage:
    """:raises InputError: not an object of non-empty texts by language, or none in the default language."""
    if not isinstance(texts, dict) or not texts:
        raise InputError('the message must be texts by language, such as {"en": "…", "fr": "…"}')
    checked: dict[str, str] = {}
    for language, text in texts.items():
        if not LANGUAGE.fullmatch(str(language)):
            raise InputError(f"{str(language)[:20]!r} is not a language such as en, fr or pt-BR")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"the {language} text is empty")
        if len(text) > MAX_TEXT:
            raise InputError(f"the {language} text is longer than {MAX_TEXT} characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in JSON): neither the store nor Zendesk takes it
            raise InputError(f"the {language} text is not valid Unicode (a lone surrogate)") from None
        checked[language] = text.strip()
    if default_language.lower() not in {language.lower() for language in checked}:
        raise InputError(f"the message has no text in the default language {default_language!r}, "
                         "which every requester without a text of their own gets")
    return UpdateMessage(texts=checked)


def message_from_macro(title: str) -> UpdateMessage:
    if not title.strip():
        raise InputError("the update's macro needs a title")
    return UpdateMessage(macro=title.strip())
