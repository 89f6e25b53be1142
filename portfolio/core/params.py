"""Parsing of numbers that arrive in URLs, query strings and cursors: one place, bounded.

Anything a client sends is refused as "not found" or "broken link" when it is not a plain
decimal number that fits the database's integer columns. Without the bound a huge id reaches
the database driver and fails there (a 500); `float("Infinity")` and friends never get that far.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.routing import IntegerConverter

#: The largest value of the integer columns on every supported database (PostgreSQL `integer`).
MAX_DB_INT = 2**31 - 1


def parse_int(value: object, *, minimum: int = 0, maximum: int = MAX_DB_INT) -> int | None:
    """`value` as an int when it is plain ASCII decimal digits (or an int) within the bounds;
    None for anything else: signs, spaces, other scripts' digits, exponents, `Infinity`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        number = int(value)
    else:
        return None
    return number if minimum <= number <= maximum else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number here")


def loads_strict(text: str | bytes) -> Any:
    """`json.loads` that refuses `NaN`, `Infinity` and `-Infinity` (Python accepts them)."""
    return json.loads(text, parse_constant=_no_constant)


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` in routes: only ids that fit the database; anything larger is a 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)
