"""Absolute URLs the app writes (mail, documents, badge links): always under PUBLIC_BASE_URL.

The request's Host header is chosen by whoever sends the request; a link built from it and mailed
to somebody else (a password reset, an invitation) would hand that person's token to the sender's
host. So no absolute URL is ever built from the request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of `endpoint` under PUBLIC_BASE_URL, whatever host the request named."""
    base = current_app.config["PORTFOLIO"].public_base_url.rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path


# -- addresses that people and imports give us --------------------------------------------------
def is_http_url(value: str | None) -> bool:
    """True for an absolute http(s) URL with a host and nothing a browser might read otherwise:
    no `javascript:`, `data:` or other schemes, no spaces, control characters or backslashes
    (browsers turn `\\` into `/` and strip tabs and newlines, so `java\\tscript:` is a scheme)."""
    if not value or len(value) > 2000:
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in value):
        return False
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname) and port_ok


def clean_http_url(value: str | None, *, what: str = "The address") -> str:
    """`value` trimmed, "" when empty; `DomainError` unless it is an http(s) URL (see above).

    Used by the models' validators, so every write — forms, services, imports — goes through it.
    """
    from portfolio.core.errors import DomainError

    value = (value or "").strip()
    if value and not is_http_url(value):
        raise DomainError(f"{what} must be a web address starting with https:// or http://.")
    return value


def http_url_or_empty(value: str | None) -> str:
    """For templates: the URL when it is safe to link to, otherwise "" (rows written before
    the validators existed are shown as text, never as a link)."""
    return value if value and is_http_url(value) else ""
