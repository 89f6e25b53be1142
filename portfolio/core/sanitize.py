"""Rich text: Markdown rendered to HTML and cleaned by an allowlist once, when it is written.

Both steps are linear in the length of the text, so no input costs more than a fraction of a
second at the largest length a field accepts (`bench/render_worst_case.py`):

- cmark-gfm (`cmarkgfm`, the C reference implementation of CommonMark with GitHub's tables and
  autolinks) renders; it is built and tested against pathological inputs (runs of brackets,
  emphasis, backticks, nesting). Python-Markdown, used before, took about the square of the
  length on runs of unclosed brackets.
- Nesting is capped before cleaning (`_limit_nesting`): HTML tree builders check scopes against
  every open element, so thousands of nested quotes cost the square of the depth.
- ammonia (`nh3`) applies the allowlist below. bleach, used before, is deprecated upstream and
  its pure-Python parser took seconds on 100,000 characters.
"""

from __future__ import annotations

import re
import unicodedata

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

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
LINK_REL = "nofollow noopener noreferrer"

#: The longest text any rendered field accepts (a reflection); longer input is cut here too, so
#: a caller that forgot its own limit still renders in bounded time.
MAX_MARKDOWN_CHARS = 100_000
#: Elements nested deeper than this lose their tags (their text stays).
MAX_NESTING = 24
_VOID = frozenset({"br", "hr", "img", "input"})
#: cmark's output is well formed and escapes `<`, `>` and quotes inside text and attributes,
#: so a tag is exactly this.
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^<>]*>")


def _limit_nesting(html: str) -> str:
    """Drop the tags of elements nested deeper than `MAX_NESTING`, in one pass."""
    out: list[str] = []
    kept: list[bool] = []  # for each open element: were its tags kept?
    pos = 0
    for match in _TAG.finditer(html):
        out.append(html[pos : match.start()])
        pos = match.end()
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID:
            out.append(match.group(0))
        elif not closing:
            keep = len(kept) < MAX_NESTING
            kept.append(keep)
            if keep:
                out.append(match.group(0))
        elif kept and kept.pop():
            out.append(match.group(0))
    out.append(html[pos:])
    return "".join(out)


def render_markdown(text: str) -> str:
    """Markdown to safe HTML: raw HTML is dropped and only an allowlist of tags survives."""
    html = cmarkgfm.markdown_to_html_with_extensions(
        (text or "")[:MAX_MARKDOWN_CHARS],
        # Without CMARK_OPT_UNSAFE, cmark leaves out raw HTML and javascript:/data: links.
        options=Options.CMARK_OPT_VALIDATE_UTF8,
        extensions=["table", "autolink", "tagfilter", "strikethrough"],
    )
    return nh3.clean(
        _limit_nesting(html),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_PROTOCOLS),
        link_rel=LINK_REL,
        strip_comments=True,
    )


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
