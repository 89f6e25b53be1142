"""Absolute URLs the app writes (mail, documents, badge links): always under PUBLIC_BASE_URL.

The request's Host header is chosen by whoever sends the request; a link built from it and mailed
to somebody else (a password reset, an invitation) would hand that person's token to the sender's
host. So no absolute URL is ever built from the request.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL of `endpoint` under PUBLIC_BASE_URL, whatever host the request named."""
    base = current_app.config["PORTFOLIO"].public_base_url.rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base + path
