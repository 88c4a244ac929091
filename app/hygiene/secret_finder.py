"""Secrets customers paste into tickets: API keys, tokens and passwords, found by shape and context.

False positives are worse than misses (a redaction is permanent, and a customer's order number hidden
is a lost clue), so every detector asks for more than a shape: a known prefix of enough random-looking
characters, or for bare strings (Zendesk tokens, AWS secret keys) a word nearby that says what they are.
What is kept visible follows the support guide: only the first and last few characters of a key; nothing
of a password.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

KEEP_END = 4  # characters left visible at a key's end
MIN_HIDDEN = 8  # a key whose middle would be shorter is not a full key: nothing to redact
MIN_PASSWORD = 6


@dataclass(frozen=True)
class Secret:
    kind: str  # desk_key | zendesk | stripe | aws_key_id | aws_secret | github | slack | jwt | password
    start: int
    end: int
    keep_start: int  # characters kept visible at the start (a password keeps none)
    keep_end: int

    def value(self, text: str) -> str:
        return text[self.start:self.end]

    def hidden(self, text: str) -> str:
        """The part Zendesk is asked to redact: the middle of a key, the whole of a password."""
        return text[self.start + self.keep_start:self.end - self.keep_end]

    def shown(self, text: str) -> str:
        """What stays readable, as the note quotes it: "sk_live_…abcd"."""
        value = self.value(text)
        if not self.keep_start and not self.keep_end:
            return "…"
        return value[:self.keep_start] + "…" + value[len(value) - self.keep_end:]


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _classes(text: str) -> int:
    return sum(bool(re.search(pattern, text)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]"))


def _random_looking(body: str, min_entropy: float = 3.5) -> bool:
    # Keys are random: every character class, and no word-like runs. Hex digests, IBANs and
    # tracking numbers miss a class; an example key spells EXAMPLE.
    return (_classes(body) == 3 and entropy(body) >= min_entropy and "example" not in body.lower()
            and not re.search(r"(.)\1{3}", body))


def _random_tail(body: str) -> bool:
    """A known prefix's random part (a Slack token's after its numeric ids): both letter cases, no word-like
    runs ("sk_live_xxxxxxxx…", "sk_live_YOUR_KEY_HERE" are placeholders)."""
    return (bool(re.search(r"[a-z]", body) and re.search(r"[A-Z]", body)) and entropy(body) >= 3.0
            and "example" not in body.lower() and not re.search(r"(.)\1{3}", body))


# (kind, pattern, group holding the secret, characters kept at the start, needs random-looking body)
_B = r"(?<![A-Za-z0-9_\-/+=.])"  # not inside a longer token, path or URL-encoded blob
_E = r"(?![A-Za-z0-9_\-/+=])"
_PREFIXED = (
    ("stripe", re.compile(_B + r"((?:sk|rk)_live_)([A-Za-z0-9]{24,99})" + _E)),
    ("github", re.compile(_B + r"(gh[pousr]_)([A-Za-z0-9]{36})" + _E)),
    ("github", re.compile(_B + r"(github_pat_)([A-Za-z0-9_]{60,90})" + _E)),
    ("slack", re.compile(_B + r"(xox[bpoas]-)((?:[0-9]{6,13}-){1,3}[A-Za-z0-9]{20,40})" + _E)),
    ("aws_key_id", re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA))([A-Z0-9]{16})(?![A-Z0-9])")),
    ("jwt", re.compile(_B + r"(eyJ)([A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,})" + _E)),
)
# Words within reach of a bare 40-character string that say it is a credential, in the desk's languages.
_TOKEN_WORDS = re.compile(r"(?i)\b(token|api[ _-]?key|jeton|clé|cle|clave|chave|schlüssel|schluessel|ключ|токен"
                          r"|zendesk|/token:|secret|secreto|segredo|geheim|секрет)")
_AWS_WORDS = re.compile(r"(?i)(aws|secret[_ ]access|secret[_ ]key|amazon)")
_BARE_40 = re.compile(r"(?<![A-Za-z0-9/+=_\-.])([A-Za-z0-9]{40})(?![A-Za-z0-9/+=_\-])")
_BARE_AWS = re.compile(r"(?<![A-Za-z0-9/+=_\-.])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=_\-])")
_URL = re.compile(r"\S*://\S*")
CONTEXT = 60  # characters before a bare string searched for its telling word

# "password: …" and its translations; the value runs to the next space.
_PASSWORD = re.compile(
    r"(?i)\b(?:password|passwd|pwd|mot de passe|mdp|contraseña|contrasena|clave de acceso|пароль"
    r"|passwort|kennwort|senha)(?![\w-])"
    r"(?:\s+(?:is|est|es|ist|é|era|war|был|—|-))?\s*[:=：]?\s*"
    r"[\"'«“„]?(?P<value>[^\s\"'«»“”„]{%d,64})" % MIN_PASSWORD)
_NOT_A_PASSWORD = re.compile(r"(?i)^(?:\*+|x+|•+|\.+|<.*>|\[.*\]|\{.*\}|redacted|hidden|masqué|oculto|скрыт\w*)$")


class SecretFinder:
    """Finds the secrets in a comment's text; `desk_key_pattern` is the desk's own API keys' regex."""

    def __init__(self, desk_key_pattern: str | None = None):
        self._desk = re.compile(desk_key_pattern) if desk_key_pattern else None

    def find(self, text: str) -> list[Secret]:
        found: list[Secret] = []
        if self._desk:
            for match in self._desk.finditer(text):
                self._add(found, "desk_key", match.start(), match.end(), min(8, (match.end() - match.start()) // 4))
        for kind, pattern in _PREFIXED:
            for match in pattern.finditer(text):
                body = match.group(2)
                if kind == "jwt" and not _random_looking(body.replace(".", ""), 4.0):
                    continue
                if kind in ("stripe", "github", "slack") and not _random_tail(re.split(r"[-_]", body)[-1]):
                    continue
                if kind == "aws_key_id" and "EXAMPLE" in body:
                    continue
                self._add(found, kind, match.start(), match.end(), len(match.group(1)))
        urls = [(m.start(), m.end()) for m in _URL.finditer(text)]
        for kind, pattern, words in (("zendesk", _BARE_40, _TOKEN_WORDS), ("aws_secret", _BARE_AWS, _AWS_WORDS)):
            for match in pattern.finditer(text):
                body = match.group(1)
                if any(s <= match.start() < e for s, e in urls) or not _random_looking(body, 4.2):
                    continue
                if not words.search(text[max(0, match.start() - CONTEXT):match.start()]):
                    continue
                self._add(found, kind, match.start(), match.end(), 4)
        for match in _PASSWORD.finditer(text):
            value = match.group("value").rstrip(".,;:)")  # sentence punctuation; "!" often ends a password
            if len(value) < MIN_PASSWORD or _NOT_A_PASSWORD.match(value) or not _password_like(value):
                continue
            self._add(found, "password", match.start("value"), match.start("value") + len(value), 0, keep_end=0)
        return sorted(found, key=lambda s: s.start)

    @staticmethod
    def _add(found: list[Secret], kind: str, start: int, end: int, keep_start: int, keep_end: int = KEEP_END) -> None:
        if any(s.start < end and start < s.end for s in found):
            return  # one string, one secret: the first (most specific) detector wins
        if kind != "password" and end - start - keep_start - keep_end < MIN_HIDDEN:
            return
        found.append(Secret(kind, start, end, keep_start, keep_end))


def _password_like(value: str) -> bool:
    """A password, not a word: a digit or a symbol beside letters ("hunter22", "Été2024!"), never a plain
    word ("oublié", "vergessen") or a number alone (an order or a phone)."""
    letters = any(c.isalpha() for c in value)
    # "_", "-" and "." join words too ("your_password", "min-8"): only a digit or another symbol counts.
    others = any(c.isdigit() or (not c.isalnum() and c not in "_-.") for c in value)
    return letters and others and not re.fullmatch(r"[\w.+-]+@[\w-]+\.[\w.]+", value)
