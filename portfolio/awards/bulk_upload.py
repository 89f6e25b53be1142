"""Checking a bulk (prior-learning) award upload before anything is written: the CSV read as a
whole (UTF-8, size and line limits, a header naming the columns), every record cleaned and
checked, and every problem listed with its line (`BulkAwardRefused`)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.urls import is_http_url
from portfolio.credentials.models import Credential
from portfolio.extensions import db

#: Limits of one upload: bytes of the file and records (lines after the header).
MAX_BYTES = 2 * 1024 * 1024
MAX_RECORDS = 5000
COLUMNS = ("email", "name", "narrative", "evidence_url", "issued_on", "source_id")
REQUIRED = ("email", "name")
MAX_LENGTHS = {"name": 120, "narrative": 2000, "evidence_url": 2000, "source_id": 200}
MAX_REASON = 500

#: Spreadsheets run a cell starting with one of these as a formula (CSV injection): such a
#: value, written into a badge and later exported, must not reach a spreadsheet as one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BulkAwardRefused(DomainError):
    """The upload has problems; nothing was written. `problems` lists them by line."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"Nothing was awarded: {first}{more}.")
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One problem of an upload: its line (1 is the header; 0 the whole file)."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"


@dataclass(frozen=True)
class Record:
    """One checked recipient."""

    line: int
    email: str
    name: str
    narrative: str = ""
    evidence_url: str = ""
    issued_on: str | None = None
    source_id: str = ""


def parse_csv(data: bytes) -> list[dict[str, Any]]:
    """The rows of an uploaded CSV as dicts with their line numbers (key `line`); the file as
    a whole must be UTF-8 (with or without BOM), within the size and line limits, with a
    header naming the columns. Raises `BulkAwardRefused` listing every problem."""
    if len(data) > MAX_BYTES:
        raise BulkAwardRefused(
            [Problem(0, "", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BulkAwardRefused(
            [Problem(line, "", "this is not UTF-8 text; save the file as “CSV UTF-8”")]
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise BulkAwardRefused([Problem(line, "", "the file holds a NUL byte: not a CSV file")])
    sample = text[:4096]
    delimiter = (
        ";" if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(",") else ","
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [c.strip().lower() for c in cells]
                unknown = [c for c in header if c not in COLUMNS]
                missing = [c for c in REQUIRED if c not in header]
                if unknown:
                    problems.append(
                        Problem(
                            1,
                            "",
                            f"unknown column(s) {', '.join(unknown)}; the columns are "
                            f"{', '.join(COLUMNS)}",
                        )
                    )
                if missing:
                    problems.append(
                        Problem(1, "", f"the column(s) {', '.join(missing)} are needed")
                    )
                if len(set(header)) != len(header):
                    problems.append(Problem(1, "", "a column is named twice"))
                if problems:
                    raise BulkAwardRefused(problems)
                continue
            if not any(c.strip() for c in cells):
                continue  # blank lines (a trailing newline, a spreadsheet's empty rows)
            if len(rows) >= MAX_RECORDS:
                raise BulkAwardRefused(
                    [Problem(line, "", f"more than {MAX_RECORDS} recipients in one file; split it")]
                )
            if len(cells) != len(header):
                problems.append(
                    Problem(line, "", f"{len(cells)} cells where the header names {len(header)}")
                )
                continue
            rows.append({"line": line, **dict(zip(header, cells, strict=True))})
    except csv.Error as exc:
        problems.append(Problem(start, "", f"not readable as CSV ({exc})"))
    if header is None:
        problems.append(Problem(0, "", "the file is empty: it needs a header and recipients"))
    if problems:
        raise BulkAwardRefused(problems)
    return rows


def check_records(rows: list[dict[str, Any]], *, today: date | None = None) -> list[Record]:
    """Check every record (each a dict with `line` and the columns) and return them cleaned;
    raises `BulkAwardRefused` listing every problem of every line."""
    today = today or utcnow().date()
    problems: list[Problem] = []
    records: list[Record] = []
    seen: dict[tuple[str, str], int] = {}
    if not rows:
        raise BulkAwardRefused([Problem(0, "", "there are no recipients")])
    if len(rows) > MAX_RECORDS:
        raise BulkAwardRefused(
            [Problem(0, "", f"more than {MAX_RECORDS} recipients in one upload; split it")]
        )
    for row in rows:
        line = int(row.get("line") or 0)
        bad = len(problems)
        values: dict[str, str] = {}
        for column in COLUMNS:
            raw = row.get(column)
            value = "" if raw is None else str(raw)
            value = unicodedata.normalize("NFC", value).strip()
            allowed = "\n" if column == "narrative" else ""
            # Control characters and lone surrogates (which JSON can carry) never reach a badge.
            if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value):
                problems.append(Problem(line, column, "holds control characters"))
                continue
            if value.startswith(_FORMULA_START):
                problems.append(
                    Problem(
                        line,
                        column,
                        f"starts with “{value[0]}”, which a spreadsheet runs "
                        "as a formula; remove that character",
                    )
                )
                continue
            limit = MAX_LENGTHS.get(column)
            if limit and len(value) > limit:
                problems.append(Problem(line, column, f"longer than {limit} characters"))
                continue
            values[column] = value
        email = values.get("email", "")
        if "email" in values:
            try:
                email = validate_email(email, check_deliverability=False).normalized.lower()
            except EmailNotValidError as exc:
                problems.append(
                    Problem(line, "email", f"“{email[:80]}” is not an email address ({exc})")
                )
        if "name" in values and not values["name"]:
            problems.append(Problem(line, "name", "the recipient's name is needed"))
        url = values.get("evidence_url", "")
        if url and not is_http_url(url):
            problems.append(
                Problem(
                    line, "evidence_url", "must be a web address starting with https:// or http://"
                )
            )
        issued_on = values.get("issued_on") or None
        if issued_on:
            try:
                if not _DATE_RE.match(issued_on):
                    raise ValueError
                when = date.fromisoformat(issued_on)
            except ValueError:
                problems.append(
                    Problem(line, "issued_on", f"“{issued_on[:40]}” is not a date like 2024-06-30")
                )
            else:
                if when > today:
                    problems.append(Problem(line, "issued_on", f"{issued_on} is in the future"))
                elif when.year < 1900:
                    problems.append(Problem(line, "issued_on", f"{issued_on} is too long ago"))
        key = (email, values.get("source_id", ""))
        if len(problems) == bad:
            if key in seen:
                problems.append(
                    Problem(line, "", f"the same recipient and source id as line {seen[key]}")
                )
            else:
                seen[key] = line
                records.append(
                    Record(
                        line=line,
                        email=email,
                        name=values["name"],
                        narrative=values.get("narrative", ""),
                        evidence_url=url,
                        issued_on=issued_on,
                        source_id=values.get("source_id", ""),
                    )
                )
    if problems:
        raise BulkAwardRefused(problems)
    return records


def check_reason(reason: str) -> str:
    """The reason every badge of the upload states; needed, one line, bounded."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(
            "Give the reason these badges are awarded without assessment (for example "
            "“recognition of prior learning” or “imported from <system>”): every badge says it."
        )
    if len(reason) > MAX_REASON:
        raise DomainError(f"Keep the reason under {MAX_REASON} characters.")
    return reason


def already_held(cred: Credential, records: list[Record]) -> int:
    """How many of `records` name a recipient who holds this badge with the same source id."""
    held = 0
    emails = sorted({r.email for r in records})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(emails), 500):
        existing.update(
            (e or "", s or "")
            for e, s in db.session.execute(
                select(Award.recipient_email, Award.source_id).where(
                    Award.credential_id == cred.id,
                    Award.recipient_email.in_(emails[start : start + 500]),
                )
            )
        )
    for r in records:
        held += (r.email, r.source_id) in existing
    return held
