"""Frameworks kept in a spreadsheet: CSV with one row per competency (OpenSALT's columns).

Columns (header row required; names as below, case-insensitive; order free; only
`fullStatement` is needed):

====================  =========================================================================
column                meaning
====================  =========================================================================
identifier            the CASE identifier (any string; a UUID is made when empty)
fullStatement         the competency's statement
humanCodingScheme     its code, e.g. WLD-2.3
listEnumeration       its list number, e.g. "a" or "2"
abbreviatedStatement  a short form of the statement
conceptKeywords       keywords, separated by commas
notes                 notes (shown as the description)
language              language code, e.g. en
educationLevel        levels, separated by commas
CFItemType            the kind of item, e.g. Domain, Competency, Skill
license               the licence's URI
sequenceNumber        order among its siblings (a whole number)
isChildOf             its parent(s): identifier or humanCodingScheme of other rows, separated by
                      commas (several parents are allowed); empty for a top-level competency
isPartOf, isPeerOf,   other associations: identifiers or codes of other rows, or URIs of items
exactMatchOf, ...     outside the framework, separated by commas (every CASE association type:
                      isPeerOf, isPartOf, exactMatchOf, precedes, isRelatedTo, replacedBy,
                      exemplar, hasSkillLevel)
====================  =========================================================================

The file may be UTF-8 with or without a byte order mark, separated by commas or semicolons, with
CRLF line ends and newlines inside quoted cells. The rows become a CASE package that is
validated like any other, so the same rules hold (no cycles); every problem names its line, and
nothing is written unless there are none.

A CSV can also update a framework (`preview_framework_csv_update`, then `update_framework_csv`):
rows are matched to competencies by identifier, or by a code only one competency has; what would
change is shown first; the framework's CASE fields that the CSV has no column for are kept.
Writing a framework out in these columns is `csv_framework_export`.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization, User
from portfolio.core.errors import NotFound
from portfolio.extensions import db
from portfolio.frameworks.case import diff as case_diff
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.case import parse as case_parse
from portfolio.frameworks.case.package import ImportFailed, ImportProblem
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework
from portfolio.frameworks.services import frameworks as framework_services

LIST_COLUMNS = ("conceptKeywords", "educationLevel")
TEXT_COLUMNS = (
    "humanCodingScheme",
    "listEnumeration",
    "abbreviatedStatement",
    "notes",
    "language",
    "CFItemType",
)
ASSOCIATION_COLUMNS = tuple(t for t in case_package.ASSOCIATION_TYPES)
COLUMNS = (
    "identifier",
    "fullStatement",
    *TEXT_COLUMNS[:3],
    "conceptKeywords",
    *TEXT_COLUMNS[3:5],
    "educationLevel",
    "CFItemType",
    "license",
    "sequenceNumber",
    *ASSOCIATION_COLUMNS,
)
MAX_ROWS = 20_000
_BY_LOWER = {c.lower(): c for c in COLUMNS}


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _is_uri(value: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:\S+$", value, re.IGNORECASE))


def parse_framework_csv(
    raw: bytes, filename: str, *, title: str, into: Framework | None = None
) -> case_package.CasePackage:
    """Validate the whole CSV and turn it into a CASE package; raise `ImportFailed` naming the
    line and column of every problem.

    With `into`, the package is an update of that framework: its CFDocument (every field an
    import kept, and CFDefinitions), a row without an identifier whose code is the code of
    exactly one competency is that competency, a row keeps the CFItem fields the CSV has no
    column for, and a link the framework already has (same type, same ends) keeps its
    identifier and fields, so only what the CSV changes shows as a change.
    """
    problems: list[ImportProblem] = []
    current = _Current(into) if into is not None else None

    def bad(line: int | None, column: str, reason: str) -> None:
        problems.append(ImportProblem(filename, f"line {line}" if line else "", column, reason))

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(
            [ImportProblem(filename, "", "", "is not UTF-8 text (save it as “CSV UTF-8”)")]
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([ImportProblem(filename, "", "", "is empty")]) from None
    except csv.Error as exc:
        raise ImportFailed([ImportProblem(filename, "line 1", "", str(exc))]) from None
    columns = [_BY_LOWER.get(h.strip().lower(), "") for h in header]
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if h.strip() and not c]
    for name in unknown:
        bad(1, name, "is not a known column (known: " + ", ".join(COLUMNS) + ")")
    if "fullStatement" not in columns:
        bad(1, "fullStatement", "column is missing from the header row")
        raise ImportFailed(problems)

    rows: list[tuple[int, dict[str, str]]] = []
    previous = reader.line_num
    try:
        for row in reader:
            line = previous + 1
            previous = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= MAX_ROWS:
                bad(line, "", f"more than {MAX_ROWS} rows")
                break
            if len(row) > len(columns):
                bad(line, "", f"has {len(row)} cells but the header has {len(columns)} columns")
                continue
            values = {c: row[i].strip() for i, c in enumerate(columns) if c and i < len(row)}
            rows.append((line, values))
    except csv.Error as exc:
        bad(reader.line_num, "", f"cannot be read as CSV ({exc})")
    if not rows and not problems:
        bad(None, "", "has a header but no rows")

    doc_id = into.case_identifier if into is not None else str(uuid.uuid4())
    ids: dict[str, int] = {}
    codes: dict[str, list[str]] = {}
    idents: list[str] = []
    for line, values in rows:
        ident = values.get("identifier") or ""
        if not ident and current is not None:
            ident = current.by_code.get(values.get("humanCodingScheme", ""), "")
        ident = ident or str(uuid.uuid4())
        if ident in ids:
            bad(line, "identifier", f"“{ident}” is also used on line {ids[ident]}")
        ids.setdefault(ident, line)
        idents.append(ident)
        if values.get("humanCodingScheme"):
            codes.setdefault(values["humanCodingScheme"], []).append(ident)

    def resolve(line: int, column: str, ref: str, *, inside_only: bool) -> str | None:
        if ref in ids:
            return ref
        if ref in codes:
            if len(codes[ref]) > 1:
                bad(line, column, f"“{ref}” is the code of more than one row; use its identifier")
                return None
            return codes[ref][0]
        if not inside_only and _is_uri(ref):
            return ref
        where = "" if inside_only else ", nor a URI"
        bad(line, column, f"“{ref}” is neither the identifier nor the code of a row{where}")
        return None

    doc_ref = {"title": title, "identifier": doc_id, "uri": f"urn:uuid:{doc_id}"}
    items: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    by_ident: dict[str, dict[str, Any]] = {}
    for (line, values), ident in zip(rows, idents, strict=True):
        statement = values.get("fullStatement", "")
        if not statement:
            bad(line, "fullStatement", "is empty")
        kept = current.items.get(ident) if current is not None else None
        item: dict[str, Any] = dict(kept) if kept else {"uri": case_package.default_uri(ident)}
        item["identifier"] = ident
        item["fullStatement"] = statement
        # The CSV is the authority for its columns: an empty cell clears the field.
        for column in (*TEXT_COLUMNS, *LIST_COLUMNS, "licenseURI"):
            item.pop(column, None)
        for column in TEXT_COLUMNS:
            if values.get(column):
                item[column] = values[column]
        for column in LIST_COLUMNS:
            if values.get(column):
                item[column] = _split(values[column])
        if values.get("license"):
            lic = values["license"]
            old_lic = (kept or {}).get("licenseURI")
            if isinstance(old_lic, dict) and old_lic.get("uri") == lic:
                item["licenseURI"] = old_lic
            else:
                item["licenseURI"] = {
                    "title": lic,
                    "identifier": case_package.as_uuid(lic),
                    "uri": lic,
                }
        items.append(item)
        by_ident[ident] = item
        seq: int | None = None
        if values.get("sequenceNumber"):
            if re.match(r"^[+-]?\d+$", values["sequenceNumber"]):
                seq = int(values["sequenceNumber"])
            else:
                bad(
                    line,
                    "sequenceNumber",
                    f"must be a whole number, not {values['sequenceNumber']!r}",
                )
        for kind in ASSOCIATION_COLUMNS:
            refs = _split(values.get(kind, ""))
            if kind == "isChildOf" and not refs:
                if current is not None and ident in current.unplaced:
                    continue  # imported without any isChildOf, and the CSV gives none
                refs = [""]
            for n, ref in enumerate(refs):
                if ref == "":
                    target = None
                else:
                    target = resolve(line, kind, ref, inside_only=kind == "isChildOf")
                    if target is None:
                        continue
                dest_ident = doc_id if target is None else target
                same = current.links.get((kind, ident, dest_ident)) if current else None
                if same is not None:
                    assoc = dict(same)
                    if kind == "isChildOf":
                        assoc.pop("sequenceNumber", None)
                        if seq is not None:
                            assoc["sequenceNumber"] = seq
                    associations.append(assoc)
                    continue
                assoc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ident}/{kind}/{n}/{ref}"))
                assoc = {
                    "identifier": assoc_id,
                    "uri": f"urn:uuid:{assoc_id}",
                    "associationType": kind,
                    "originNodeURI": {
                        "title": statement[:100],
                        "identifier": ident,
                        "uri": case_package.default_uri(ident),
                    },
                    "destinationNodeURI": dict(doc_ref)
                    if target is None
                    else {
                        "title": "",
                        "identifier": target,
                        "uri": case_package.default_uri(target),
                    },
                }
                if kind == "isChildOf" and seq is not None:
                    assoc["sequenceNumber"] = seq
                associations.append(assoc)
    for assoc in associations:
        named = by_ident.get(assoc["destinationNodeURI"]["identifier"])
        if named is not None and not assoc["destinationNodeURI"].get("title"):
            assoc["destinationNodeURI"]["title"] = named["fullStatement"][:100]
    if problems:
        raise ImportFailed(problems)
    data: dict[str, Any] = {
        "CFDocument": {
            "identifier": doc_id,
            "uri": f"urn:uuid:{doc_id}",
            "creator": "",
            "title": title,
        },
        "CFItems": items,
        "CFAssociations": associations,
    }
    if current is not None:
        data["CFDocument"] = {**current.document, "title": title}
        if current.definitions:
            data["CFDefinitions"] = current.definitions
    try:
        return case_parse.parse_case_data(data, filename)
    except ImportFailed as exc:
        # Name the line: problems of the package name the items by identifier.
        located = []
        for p in exc.problems:
            at = next((ln for i, ln in ids.items() if i in p.where or i in p.reason), None)
            located.append(
                ImportProblem(filename, f"line {at}" if at else p.where, p.field, p.reason)
            )
        raise ImportFailed(located) from None


class _Current:
    """What an update by CSV keeps of the framework it updates."""

    def __init__(self, fw: Framework) -> None:
        document, _ = case_export.export_document(fw)
        if fw.case_extra is None:
            document["creator"] = fw.creator
        self.document: dict[str, Any] = document
        self.definitions = (fw.case_extra or {}).get("definitions") or {}
        comps = list(db.session.scalars(select(Competency).where(Competency.framework_id == fw.id)))
        ident_of = {c.id: c.case_identifier for c in comps}
        codes: dict[str, list[str]] = {}
        for c in comps:
            if c.code:
                codes.setdefault(c.code, []).append(c.case_identifier)
        #: Code → identifier, for codes of exactly one competency.
        self.by_code = {code: idents[0] for code, idents in codes.items() if len(idents) == 1}
        #: The CFItem as imported, by identifier.
        self.items: dict[str, dict[str, Any]] = {
            c.case_identifier: dict(c.case_extra) for c in comps if c.case_extra
        }
        #: (type, origin, destination identifier) → the CFAssociation as kept.
        self.links: dict[tuple[str, str, str], dict[str, Any]] = {}
        placed: set[int] = set()
        for a in db.session.scalars(
            select(CompetencyAssociation).where(CompetencyAssociation.framework_id == fw.id)
        ):
            origin = ident_of.get(a.origin_id or -1) or a.origin_ref.get("identifier", "")
            dest = ident_of.get(a.destination_id or -1) or a.destination_ref.get("identifier", "")
            data = {**a.case_data, "identifier": a.case_identifier}
            data["associationType"] = a.association_type
            self.links.setdefault((a.association_type, origin, dest), data)
            if a.association_type == "isChildOf" and a.origin_id is not None:
                placed.add(a.origin_id)
        #: Imported items with no isChildOf at all (CASE allows it; a CSV cannot say it).
        self.unplaced = {
            c.case_identifier for c in comps if c.case_extra is not None and c.id not in placed
        }


def import_framework_csv(
    actor: User, org: Organization, raw: bytes, filename: str, *, title: str
) -> case_importer.ImportResult:
    """Create a framework from a CSV file. All or nothing."""
    framework_services.require_admin(actor, org)
    pkg = parse_framework_csv(raw, filename, title=title)
    return case_importer.write_package(actor, org, pkg, filename)


def preview_framework_csv_update(
    actor: User, framework: Framework, raw: bytes, filename: str, *, title: str = ""
) -> tuple[case_package.CasePackage, case_diff.PackageDiff]:
    """What importing the CSV into `framework` would change (nothing is written)."""
    framework_services.require_admin(actor, _org(framework))
    pkg = parse_framework_csv(raw, filename, title=title or framework.title, into=framework)
    return pkg, case_diff.diff_package(framework, pkg)


def update_framework_csv(
    actor: User, framework: Framework, pkg: case_package.CasePackage, filename: str
) -> case_importer.ImportResult:
    """Apply a CSV update previewed with `preview_framework_csv_update`: changed competencies
    keep their rows (and so what rubrics and credentials point at), new ones are added, those
    the CSV no longer has are removed unless something published uses them (then nothing is
    changed). All or nothing."""
    org = _org(framework)
    framework_services.require_admin(actor, org)
    return case_importer.write_package(actor, org, pkg, filename, update_existing=True)


def _org(framework: Framework) -> Organization:
    org = db.session.get(Organization, framework.organization_id)
    if org is None:
        raise NotFound("No such organization.")
    return org
