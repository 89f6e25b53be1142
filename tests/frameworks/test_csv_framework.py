"""Framework CSV (OpenSALT's spreadsheet columns): import, export, line-precise errors."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks import csv_framework, services
from portfolio.frameworks.case import ImportFailed
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework
from tests.conftest import Client

OUTSIDE = "https://case.other.example/uri/1"

# Semicolons, CRLF, a byte order mark, a quoted cell with a line break in it, a competency under
# two parents (by code and by identifier), numeric sequence numbers and an outside URI.
SPREADSHEET = (
    "\ufeffidentifier;fullStatement;humanCodingScheme;isChildOf;sequenceNumber;"
    "educationLevel;isRelatedTo;CFItemType\r\n"
    "d1;Safety;S;;1;;;Domain\r\n"
    'c1;"Isolate the supply\r\nbefore work";S.1;S;2;13, 14;;Competency\r\n'
    "c2;Test for dead;S.2;d1;1;;" + OUTSIDE + ";Competency\r\n"
    "c3;Lock out and tag;S.3;S.1, c2;1;;c1;Skill\r\n"
)


@pytest.fixture
def admin_org(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind")
    return make.user((org, Role.ADMIN), email="admin@example.org"), org


def counts() -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(m)) or 0
        for m in (Framework, Competency, CompetencyAssociation)
    )


def test_spreadsheet_imports_with_bom_semicolons_crlf_and_quoted_newlines(admin_org) -> None:
    admin, org = admin_org
    result = csv_framework.import_framework_csv(
        admin, org, SPREADSHEET.encode("utf-8"), "f.csv", title="Electrical safety"
    )
    db.session.commit()
    fw = result.framework
    assert fw.title == "Electrical safety"
    tree = [(c.code, d) for c, d in services.competency_tree(fw)]
    assert tree == [("S", 0), ("S.2", 1), ("S.1", 1), ("S.3", 2)]
    isolate = next(c for c in fw.competencies if c.code == "S.1")
    assert isolate.statement == "Isolate the supply\r\nbefore work"
    assert isolate.case_extra["educationLevel"] == ["13", "14"]
    listed, todo = [], [None]
    while todo:  # every branch of the tree, as the framework page opens them
        for node in services.tree_branch(fw, todo.pop()).nodes:
            listed.append((node.competency.code, node.is_also_here))
            todo.append(node.competency)
    assert ("S.3", True) in listed and ("S.3", False) in listed
    kinds = sorted(a.association_type for a in fw.associations)
    assert kinds.count("isRelatedTo") == 2
    outside = next(a for a in fw.associations if a.destination_ref.get("uri") == OUTSIDE)
    assert outside.destination_id is None

    # Export and import again: the same competencies, parents and links.
    exported = csv_framework.export_framework_csv(fw)
    assert exported.startswith("\ufeff".encode()) and b"\r\n" in exported
    again = csv_framework.import_framework_csv(admin, org, exported, "e.csv", title="Again")
    db.session.commit()

    def shape(f: Framework) -> object:
        by_id = {c.id: c.case_identifier for c in f.competencies}
        return (
            sorted(
                (c.case_identifier, c.code, c.statement, by_id.get(c.parent_id), c.item_type)
                for c in f.competencies
            ),
            sorted(
                (
                    a.association_type,
                    by_id.get(a.origin_id),
                    by_id.get(a.destination_id) or a.destination_ref.get("uri"),
                )
                for a in f.associations
                if a.destination_id or a.association_type != "isChildOf"
            ),
        )

    assert shape(again.framework) == shape(fw)


def test_errors_name_their_line_and_nothing_is_written(admin_org) -> None:
    admin, org = admin_org
    before = counts()
    broken = (
        "identifier,fullStatement,humanCodingScheme,isChildOf,sequenceNumber\n"
        'a,"Two\nlines",A,,1\n'  # lines 2-3
        "b,,B,A,1\n"  # line 4: no statement
        "c,Third,C,Z,x\n"  # line 5: unknown parent, bad number
        "a,Again,D,,\n"  # line 6: identifier used twice
    )
    with pytest.raises(ImportFailed) as info:
        csv_framework.import_framework_csv(admin, org, broken.encode(), "b.csv", title="T")
    found = {(p.where, p.field) for p in info.value.problems}
    assert ("line 4", "fullStatement") in found
    assert ("line 5", "isChildOf") in found and ("line 5", "sequenceNumber") in found
    assert ("line 6", "identifier") in found
    db.session.rollback()
    assert counts() == before


def test_a_loop_is_reported_on_its_line(admin_org) -> None:
    admin, org = admin_org
    loop = "identifier,fullStatement,isChildOf\nx,First,y\ny,Second,x\n"
    with pytest.raises(ImportFailed) as info:
        csv_framework.import_framework_csv(admin, org, loop.encode(), "l.csv", title="T")
    [problem] = info.value.problems
    assert problem.where in {"line 2", "line 3"} and "cycle" in problem.reason


def test_csv_given_to_the_case_importer_is_sent_to_the_csv_page(client: Client, admin_org) -> None:
    base = f"/o/{admin_org[1].slug}/frameworks"
    client.login("admin@example.org")
    resp = client.submit(
        base + "/import",
        {"package": (io.BytesIO(SPREADSHEET.encode()), "framework.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302 and resp.location.endswith("/frameworks/import-csv")
    page = client.get(resp.location).get_data(as_text=True)
    assert "is a framework CSV" in page
    resp = client.submit(
        base + "/import-csv",
        {"title": "From the page", "csv_file": (io.BytesIO(SPREADSHEET.encode()), "f.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    fw = db.session.scalar(select(Framework).where(Framework.title == "From the page"))
    download = client.get(f"{base}/{fw.public_id}/framework.csv")
    assert download.mimetype == "text/csv" and "Lock out and tag" in download.get_data(as_text=True)
