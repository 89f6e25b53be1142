"""Opaque public identifiers: what outsiders see in URLs instead of integer primary keys."""

from __future__ import annotations

import re
import secrets

#: 16 random bytes, URL-safe base64 without padding: 22 characters, 128 bits.
PUBLIC_ID_BYTES = 16
PUBLIC_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_public_id() -> str:
    """An unguessable public id."""
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def is_public_id(value: str) -> bool:
    """True when `value` has the shape of a public id (cheap check before any query)."""
    return bool(PUBLIC_ID_RE.match(value))
