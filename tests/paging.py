"""Following the "Next page" / "Previous page" links of a keyset-paginated page."""

from __future__ import annotations

import re
from html import unescape

from tests.conftest import Client


def link(page: str, rel: str) -> str | None:
    """The address of the page's `rel="next"` or `rel="prev"` link, if it has one."""
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def cells(page: str, level: str) -> list[str]:
    """The texts of the table cells labelled `level` (the `data-level` of stackable tables)."""
    return [unescape(t) for t in re.findall(rf'data-level="{level}">([^<]*)<', page)]


def follow(client: Client, path: str, level: str) -> list[list[str]]:
    """The cells labelled `level` of every page from `path` on, following "Next page"."""
    pages: list[list[str]] = []
    next_path: str | None = path
    while next_path is not None:
        resp = client.get(next_path)
        assert resp.status_code == 200, (next_path, resp.status_code)
        page = resp.get_data(as_text=True)
        pages.append(cells(page, level))
        next_path = link(page, "next")
        assert len(pages) < 50, "the Next links go round in circles"
    return pages
