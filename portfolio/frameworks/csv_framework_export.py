"""A framework written as a CSV spreadsheet, in the columns `csv_framework` reads (so an
export imports back as the same framework)."""

from __future__ import annotations

import csv
import io
from typing import Any

from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.csv_framework import ASSOCIATION_COLUMNS, COLUMNS, LIST_COLUMNS
from portfolio.frameworks.models import Framework


def export_framework_csv(framework: Framework) -> bytes:
    """The framework as CSV with the columns above (UTF-8 with a byte order mark, so that
    spreadsheet programs read it as UTF-8; CRLF line ends)."""
    package = case_export.export_case_package(framework, rubrics=[])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    items = {i["identifier"]: i for i in package["CFItems"]}

    def original(obj: dict[str, Any]) -> str:
        ext = obj.get(case_package.EXT)
        if isinstance(ext, dict) and isinstance(ext.get(case_package.EXT_IDENTIFIER), str):
            return str(ext[case_package.EXT_IDENTIFIER])
        return str(obj["identifier"])

    ident_of = {original(i): original(i) for i in items.values()}
    refs: dict[str, dict[str, list[str]]] = {}
    seqs: dict[str, int] = {}
    doc_id = framework.case_identifier
    for a in package["CFAssociations"]:
        origin = a["originNodeURI"]["identifier"]
        dest = a["destinationNodeURI"]["identifier"]
        kind = a["associationType"]
        bucket = refs.setdefault(origin, {})
        if kind == "isChildOf":
            if origin not in seqs and isinstance(a.get("sequenceNumber"), int):
                seqs[origin] = a["sequenceNumber"]
            if dest in (doc_id, case_package.as_uuid(doc_id)):
                continue
        value = dest if dest in ident_of else (a["destinationNodeURI"].get("uri") or dest)
        bucket.setdefault(kind, []).append(value)
    for item in items.values():
        ident = original(item)
        row = [ident, item.get("fullStatement", "")]
        for column in COLUMNS[2:]:
            if column in LIST_COLUMNS:
                value = item.get(column)
                row.append(", ".join(value) if isinstance(value, list) else str(value or ""))
            elif column == "license":
                lic = item.get("licenseURI")
                row.append(lic.get("uri", "") if isinstance(lic, dict) else "")
            elif column == "sequenceNumber":
                row.append(str(seqs[ident]) if ident in seqs else "")
            elif column in ASSOCIATION_COLUMNS:
                row.append(", ".join(refs.get(ident, {}).get(column, [])))
            else:
                value = item.get(column, "")
                row.append(value if isinstance(value, str) else "")
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")
