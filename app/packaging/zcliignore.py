"""``.zcliignore`` read and matched as zcli does (packages/zcli-apps/src/lib/package.ts, minimatch 5)."""

from __future__ import annotations

import re
from pathlib import Path

from app.errors import InputError


def zcliignore_lines(root: Path) -> list[str]:
    """The patterns in ``root/.zcliignore``, as zcli reads them."""
    ignore_file = root / ".zcliignore"
    if not ignore_file.is_file():
        return []
    lines = ignore_file.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
    # zcli drops blank and "#" lines but keeps the others untrimmed, as we do.
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


class Glob:
    """One ignore line as minimatch 5 reads it with ``{dot: true}``: ``!``, ``{a,b}``, ``**``, ``*``, ``?``, ``[]``."""

    def __init__(self, line: str):
        body = line.lstrip("!")
        if re.search(r"[?*+@!]\(|\[\[:|\{[^{}]*\.\.[^{}]*\}", body):
            raise InputError(f".zcliignore line {line!r} uses an extglob, a POSIX class or a brace range, "
                             "which this packager cannot match the way zcli does")
        self.negate = (len(line) - len(body)) % 2 == 1
        self._paths: list[re.Pattern[str]] = []
        self._trees: list[re.Pattern[str]] = []
        for alternative in _expand_braces(body):
            parts: list[str] = []
            for part in alternative.split("/"):
                if not (part == "**" and parts and parts[-1] == "**"):
                    parts.append(part)
            self._paths.append(re.compile(_parts_regex(parts), re.DOTALL))
            if parts[-1] == "**":
                self._trees.append(re.compile(_parts_regex(parts[:-1]) if len(parts) > 1 else ".*", re.DOTALL))

    def ignores(self, path: str) -> bool:
        """Whether zcli leaves this file out."""
        return any(regex.fullmatch(path) for regex in self._paths) != self.negate

    def ignores_all_under(self, directory: str) -> bool:
        """Whether every path below ``directory`` is left out, so the walk may skip it."""
        return not self.negate and any(regex.fullmatch(directory) for regex in self._trees)


def _expand_braces(pattern: str) -> list[str]:
    """``a{b,c}d`` -> ``abd``, ``acd`` (nested too), as brace-expansion does; ``{x}`` stays literal."""
    depth = start = 0
    for i, char in enumerate(pattern):
        if char == "{":
            start = i if depth == 0 else start
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            options = _split_top_level(pattern[start + 1:i]) if depth == 0 else []
            if len(options) > 1:
                tails = _expand_braces(pattern[i + 1:])
                return [pattern[:start] + head + tail
                        for option in options for head in _expand_braces(option) for tail in tails]
    return [pattern]


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _parts_regex(parts: list[str]) -> str:
    # "**" as a whole segment spans zero or more directories, but a trailing one needs something
    # below it: minimatch 5 matches "a/**" against "a/x", never against a file named "a".
    regex = ""
    for i, part in enumerate(parts):
        if part == "**":
            regex += ".*" if len(parts) == 1 else "(?:.*/)?" if i == 0 else "/.*" if i == len(parts) - 1 \
                else "/(?:.*/)?"
            continue
        if i and parts[i - 1] != "**":
            regex += "/"
        regex += _segment_regex(part)
    return regex


def _segment_regex(segment: str) -> str:
    regex, i = "", 0
    while i < len(segment):
        char = segment[i]
        end = segment.find("]", i + 2) if char == "[" else -1
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif end != -1:
            body = "".join("\\" + c if c in "\\[]&~|" else c for c in segment[i + 1:end])
            # A negated class must still stop at "/", which minimatch never sees inside a segment.
            regex += "[^/" + body[1:] + "]" if body[0] in "!^" else "[" + body + "]"
            i = end
        elif char == "\\" and i + 1 < len(segment):
            i += 1
            regex += re.escape(segment[i])
        else:
            regex += re.escape(char)
        i += 1
    return regex
