"""Rubrics authored in a spreadsheet: CSV with one row per element and level.

Columns (header row required, names case-insensitive, order free):

=====================  ========  ==========================================================
column                 needed    meaning
=====================  ========  ==========================================================
element                yes       element title; rows with the same title form one element
level                  yes       performance level name, e.g. "Meets"
points                 yes       points of that level (a number; the same for every element)
descriptor             yes       what performance at this level looks like for this element
element_description    no        what the element is about
evidence_guidance      no        what evidence the worker should provide
required               no        yes/no (default yes)
weight                 no        number multiplying the points (default 1)
=====================  ========  ==========================================================

Elements keep the order of their first row; levels are ordered by points, lowest first. Every
element must have a row for every level exactly once.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.frameworks.case.package import ImportFailed, ImportProblem
from portfolio.frameworks.models import Framework, Rubric
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.services import rubrics as rubric_services
from portfolio.frameworks.services.rubrics import ElementInput, LevelInput, VersionInput

REQUIRED_COLUMNS = ("element", "level", "points", "descriptor")
OPTIONAL_COLUMNS = ("element_description", "evidence_guidance", "required", "weight")
MAX_ROWS = 2000
TRUE = {"yes", "y", "true", "1", "required"}
FALSE = {"no", "n", "false", "0", "optional"}


def parse_rubric_csv(
    raw: bytes, filename: str, *, title: str, pass_level_name: str = ""
) -> VersionInput:
    """Validate the whole CSV; raise `ImportFailed` listing every problem by line and column."""
    problems: list[ImportProblem] = []

    def bad(line: int | None, column: str, reason: str) -> None:
        problems.append(ImportProblem(filename, f"line {line}" if line else "", column, reason))

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(
            [
                ImportProblem(
                    filename, "", "", "is not UTF-8 text (save the spreadsheet as “CSV UTF-8”)"
                )
            ]
        ) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([ImportProblem(filename, "", "", "is empty")]) from None
    except csv.Error as exc:
        raise ImportFailed([ImportProblem(filename, "line 1", "", str(exc))]) from None
    columns = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportFailed(
            [
                ImportProblem(filename, "line 1", c, "column is missing from the header row")
                for c in missing
            ]
        )
    unknown = [c for c in columns if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    for c in unknown:
        bad(
            1,
            c,
            "is not a known column (known: " + ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS) + ")",
        )

    elements: dict[str, ElementInput] = {}
    element_lines: dict[str, int] = {}
    level_points: dict[str, Decimal] = {}
    seen_cells: set[tuple[str, str]] = set()
    descriptors: dict[tuple[str, str], str] = {}
    rows = 0
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > MAX_ROWS:
                bad(line, "", f"more than {MAX_ROWS} rows")
                break
            if len(row) > len(columns):
                bad(line, "", f"has {len(row)} cells but the header has {len(columns)} columns")
                continue
            values = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(columns)}
            name, level = values["element"], values["level"]
            if not name:
                bad(line, "element", "is empty")
            if not level:
                bad(line, "level", "is empty")
            try:
                points = Decimal(values["points"].replace(",", "."))
                if not points.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                bad(line, "points", f"must be a number, not {values['points']!r}")
                points = None
            if not values["descriptor"]:
                bad(line, "descriptor", "is empty")
            if not name or not level:
                continue
            if points is not None:
                if level in level_points and level_points[level] != points:
                    bad(
                        line,
                        "points",
                        f"level “{level}” has {points} points here but "
                        f"{level_points[level]} on an earlier line",
                    )
                level_points.setdefault(level, points)
            if (name, level) in seen_cells:
                bad(line, "level", f"element “{name}” already has a row for level “{level}”")
            seen_cells.add((name, level))
            descriptors[(name, level)] = values["descriptor"]
            element = elements.get(name)
            if element is None:
                element = ElementInput(public_id=None, title=name)
                elements[name] = element
                element_lines[name] = line
            _merge(element, values, line, bad)
    except csv.Error as exc:
        bad(reader.line_num, "", f"cannot be read as CSV ({exc})")
    if not rows and not problems:
        bad(None, "", "has a header but no rows")

    ordered_levels = sorted(level_points.items(), key=lambda kv: kv[1])
    points_list = [p for _, p in ordered_levels]
    if len(set(points_list)) != len(points_list):
        bad(None, "points", "two levels have the same points; levels are ordered by points")
    for name, line in element_lines.items():
        for level, _ in ordered_levels:
            if (name, level) not in seen_cells:
                bad(line, "level", f"element “{name}” has no row for level “{level}”")
    level_names = [n for n, _ in ordered_levels]
    pass_level: int | None = len(level_names) // 2 if level_names else None
    if pass_level_name:
        if pass_level_name in level_names:
            pass_level = level_names.index(pass_level_name)
        else:
            bad(
                None,
                "level",
                f"the pass level “{pass_level_name}” is not one of the levels "
                f"({', '.join(level_names)})",
            )
    if problems:
        raise ImportFailed(problems)
    for element in elements.values():
        element.descriptors = {
            i: descriptors[(element.title, n)] for i, n in enumerate(level_names)
        }
    return VersionInput(
        title=title,
        description="",
        elements=list(elements.values()),
        levels=[LevelInput(None, n, p) for n, p in ordered_levels],
        pass_level=pass_level,
    )


def _merge(element: ElementInput, values: dict[str, str], line: int, bad) -> None:  # type: ignore[no-untyped-def]
    """Element columns may repeat on every row; they must not contradict each other."""
    for column, attr in (
        ("element_description", "description"),
        ("evidence_guidance", "evidence_guidance"),
    ):
        value = values.get(column, "")
        if not value:
            continue
        current = getattr(element, attr)
        if current and current != value:
            bad(line, column, f"differs from an earlier row of element “{element.title}”")
        setattr(element, attr, value)
    required = values.get("required", "").lower()
    if required:
        if required not in TRUE | FALSE:
            bad(line, "required", f"must be yes or no, not {values['required']!r}")
        else:
            element.is_required = required in TRUE
    weight = values.get("weight", "")
    if weight:
        try:
            number = Decimal(weight.replace(",", "."))
            if not number.is_finite() or number < 0:
                raise InvalidOperation
            element.weight = number
        except InvalidOperation:
            bad(line, "weight", f"must be a number of zero or more, not {weight!r}")


def import_rubric_csv(
    actor: User,
    org: Organization,
    raw: bytes,
    filename: str,
    *,
    title: str,
    pass_level_name: str = "",
    framework: Framework | None = None,
) -> Rubric:
    """Create a rubric (first draft version) from a CSV file. All or nothing."""
    framework_services.require_admin(actor, org)
    data = parse_rubric_csv(raw, filename, title=title, pass_level_name=pass_level_name)
    rubric = rubric_services.create_rubric(
        actor, org, title=title, framework=framework, with_default_levels=False
    )
    rubric_services.save_version(actor, rubric.latest, data)
    audit.record(
        "rubric.import_csv",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="rubric",
        subject_id=rubric.public_id,
        file=filename,
        elements=len(data.elements),
        levels=len(data.levels),
    )
    return rubric
