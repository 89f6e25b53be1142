"""Rich text: Markdown rendered to HTML and cleaned with bleach once, when it is written.

The renderer is markdown-it-py (CommonMark plus tables): its parser is linear in the length of
the text, so no input — runs of unclosed brackets, emphasis markers, backticks or nested
quotes — costs more than a few milliseconds per kilobyte (`bench/render_worst_case.py`).
Python-Markdown, used before, took about the square of the length on such runs.
"""

from __future__ import annotations

import unicodedata

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "b",
        "i",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "a",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "th": ["align"], "td": ["align"]}
#: No javascript:, data: or vbscript: links.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


def _add_rel(attrs: dict[tuple[str | None, str], str], new: bool = False) -> dict:  # type: ignore[type-arg]
    attrs[(None, "rel")] = "nofollow noopener noreferrer"
    return attrs


#: The longest text any rendered field accepts (a reflection); longer input is cut here too, so
#: a caller that forgot its own limit still renders in bounded time.
MAX_MARKDOWN_CHARS = 100_000
#: Raw HTML is not passed through (it is shown as text); no typographic replacements.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
#: Deeper block nesting (quotes in lists in quotes …) is rendered as text beyond this level.
_MARKDOWN.options["maxNesting"] = 20


def render_markdown(text: str) -> str:
    """Markdown to safe HTML: raw HTML is escaped and only an allowlist of tags survives."""
    html = _MARKDOWN.render((text or "")[:MAX_MARKDOWN_CHARS])
    cleaned = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
    )
    return bleach.linkify(cleaned, callbacks=[_add_rel], skip_tags={"pre", "code"})


#: Unicode categories removed from names: controls, format characters (bidi overrides), etc.
_STRIP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_text(value: str, max_length: int = 255) -> str:
    """One line of plain text: no control or bidi characters, collapsed spaces, bounded length."""
    normalized = unicodedata.normalize("NFC", value or "")
    kept = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in normalized
        if ch in "\t\r\n" or unicodedata.category(ch) not in _STRIP_CATEGORIES
    )
    return " ".join(kept.split())[:max_length]
