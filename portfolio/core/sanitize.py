"""Rich text: Markdown rendered to HTML and cleaned with bleach once, when it is written."""

from __future__ import annotations

import unicodedata

import bleach
import markdown as md

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


def render_markdown(text: str) -> str:
    """Markdown to safe HTML: raw HTML is escaped and only an allowlist of tags survives."""
    html = md.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
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
