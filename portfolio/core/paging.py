"""Keyset pages ("Next" / "Previous" without OFFSET) with opaque, validated cursors.

A cursor is the sort key and id of the row at a page boundary, as base64url of a JSON pair.
Anything a client sends in its place (garbage, `Infinity`, huge ids, dates out of range, very
long strings) is refused with one `DomainError` (400, "That page link is broken"), never passed
on to the database.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from portfolio.core.errors import DomainError
from portfolio.core.params import loads_strict, parse_int

T = TypeVar("T")

#: Longer query values are not a cursor we made (a 120-character name, escaped, fits easily).
MAX_CURSOR_LENGTH = 2048

BROKEN_LINK = "That page link is broken. Start from the first page."


def encode_cursor(key: str | datetime, ident: int) -> str:
    """Opaque keyset cursor of a row: its sort key (a string or a moment) and its id."""
    value = key.isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([value, ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    broken = DomainError(BROKEN_LINK)
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise broken
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, ident = loads_strict(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, OverflowError) as exc:
        raise broken from exc
    number = parse_int(ident)
    if number is None:
        raise broken
    return key, number


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    """Inverse of `encode_cursor` for a moment (made timezone-aware, UTC)."""
    key, number = _decode(cursor)
    try:
        if not isinstance(key, str):
            raise TypeError(key)
        when = datetime.fromisoformat(key)
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DomainError(BROKEN_LINK) from exc
    return when, number


def text_cursor_decoder(max_length: int) -> Callable[[str], tuple[str, int]]:
    """Inverse of `encode_cursor` for a text key of at most `max_length` characters."""

    def decode(cursor: str) -> tuple[str, int]:
        key, number = _decode(cursor)
        if not isinstance(key, str) or len(key) > max_length or "\x00" in key:
            raise DomainError(BROKEN_LINK)
        return key, number

    return decode


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows; a cursor for the page after (`after=`) and before (`before=`)."""

    rows: Sequence[T]
    next_cursor: str | None
    prev_cursor: str | None


def keyset_page(
    query: Select[tuple[T]],
    *,
    key: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[int],
    row_key: Callable[[T], tuple[str | datetime, int]],
    decode: Callable[[str], tuple[Any, int]],
    descending: bool,
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> Page[T]:
    """Run `query` for one page ordered by (`key`, `ident`), one statement whatever the size.

    `after` is the cursor of the last row of the page before, `before` the one of the first row
    of the page after (the "Previous" link). `row_key` gives a row's (key, id)."""
    from portfolio.extensions import db

    pair = tuple_(key, ident)
    forward = (key.desc(), ident.desc()) if descending else (key.asc(), ident.asc())
    backward = (key.asc(), ident.asc()) if descending else (key.desc(), ident.desc())
    if after:
        at = tuple_(*decode(after))
        query = query.where(pair < at if descending else pair > at)
    elif before:
        at = tuple_(*decode(before))
        query = query.where(pair > at if descending else pair < at)
    reverse = bool(before) and not after
    found = db.session.scalars(query.order_by(*(backward if reverse else forward)).limit(limit + 1))
    rows = cast(list[T], list(found))
    more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    first = encode_cursor(*row_key(rows[0])) if rows else None
    last = encode_cursor(*row_key(rows[-1])) if rows else None
    if reverse:
        return Page(rows=rows, next_cursor=last, prev_cursor=first if more else None)
    return Page(rows=rows, next_cursor=last if more else None, prev_cursor=first if after else None)
