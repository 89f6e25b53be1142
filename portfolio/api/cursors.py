"""Opaque keyset-page cursors of the API: a cursor names the last row of a page by its time
and id, base64url-encoded JSON, so the next page starts after it whatever was added since."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from portfolio.core.errors import DomainError


def encode_cursor(at: datetime, ident: int) -> str:
    """The cursor after the row (`at`, `ident`)."""
    raw = json.dumps([at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, id) a cursor names; a cursor this API did not give out is refused (400)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, TypeError) as exc:
        raise DomainError("The cursor is not one this API gave out.") from exc
