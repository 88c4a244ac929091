"""A comment's HTML as the plain text Zendesk keeps beside it (`body`/`plain_body` next to `html_body`).

https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/ — a comment has body,
html_body and plain_body; a comment sent as html_body alone gets its text from the HTML.
"""

from __future__ import annotations

import html
import re

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|blockquote|pre|tr)\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str) -> str:
    """Line breaks for <br>, a blank line after each paragraph or block, tags dropped, entities decoded."""
    text = _BREAK.sub("\n", markup)
    text = _BLOCK_END.sub("\n\n", text)
    text = html.unescape(_TAG.sub("", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def text_to_rich_html(text: str) -> str:
    """Plain text as Zendesk's rich-text editor saves it: a <p> per paragraph, <br> per line break."""
    paragraphs = [part for part in text.split("\n\n") if part.strip()]
    return "".join(f"<p>{html.escape(part, quote=False).replace(chr(10), '<br>')}</p>" for part in paragraphs)
