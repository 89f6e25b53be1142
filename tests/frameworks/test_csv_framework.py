"""Framework CSV (OpenSALT's spreadsheet columns): import, export, line-precise errors."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks import csv_framework, csv_framework_export
from portfolio.frameworks.case.package import ImportFailed
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework
from portfolio.frameworks.services import tree as tree_services
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
    tree = [(c.code, d) for c, d in tree_services.competency_tree(fw)]
    assert tree == [("S", 0), ("S.2", 1), ("S.1", 1), ("S.3", 2)]
    isolate = next(c for c in fw.competencies if c.code == "S.1")
    assert isolate.statement == "Isolate the supply\r\nbefore work"
    assert isolate.case_extra["educationLevel"] == ["13", "14"]
    listed, todo = [], [None]
    while todo:  # every branch of the tree, as the framework page opens them
        for node in tree_services.tree_branch(fw, todo.pop()).nodes:
            listed.append((node.competency.code, node.is_also_here))
            todo.append(node.competency)
    assert ("S.3", True) in listed and ("S.3", False) in listed
    kinds = sorted(a.association_type for a in fw.associations)
    assert kinds.count("isRelatedTo") == 2
    outside = next(a for a in fw.associations if a.destination_ref.get("uri") == OUTSIDE)
    assert outside.destination_id is None

    # Export and import again: the same competencies, parents and links.
    exported = csv_framework_export.export_framework_csv(fw)
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


def send_csv(client: Client, slug: str, body: bytes, **fields: str) -> object:
    url = f"/o/{slug}/frameworks/import-csv"
    return client.post(
        url,
        data={
            "csrf_token": client.csrf_token(url),
            **fields,
            "csv_file": (io.BytesIO(body), "framework.csv"),
        },
        content_type="multipart/form-data",
    )


def test_a_csv_updates_a_framework_after_showing_what_changes(client: Client, admin_org) -> None:
    import csv as csv_module
    import json
    import re

    from portfolio.frameworks.case import importer as case_importer
    from tests.frameworks.case_packages import rich_package

    admin, org = admin_org
    source = rich_package()
    fw = case_importer.import_case_package(
        admin, org, json.dumps(source).encode(), "p.json"
    ).framework
    db.session.commit()
    before = {c.case_identifier: (c.id, c.statement) for c in fw.competencies}
    links_before = {a.case_identifier for a in fw.associations}
    client.login("admin@example.org")
    exported = client.get(f"/o/{org.slug}/frameworks/{fw.public_id}/framework.csv").data
    # The framework's own CSV sent back changes nothing.
    same = send_csv(client, org.slug, exported, framework=fw.public_id)
    assert "nothing to update" in same.get_data(as_text=True)

    rows = list(csv_module.reader(io.StringIO(exported.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    for row in body:
        if row[col["humanCodingScheme"]] == "EL.S2":
            row[col["fullStatement"]] = "Sibling two, reworded"
    body = [r for r in body if r[col["humanCodingScheme"]] != "EL.X"]  # removed
    new = [""] * len(header)
    new[col["fullStatement"]], new[col["humanCodingScheme"]] = "A new one", "EL.NEW"
    new[col["isChildOf"]] = "EL.S10"
    body.append(new)
    out = io.StringIO()
    csv_module.writer(out).writerows([header, *body])
    changed = out.getvalue().encode()

    preview = send_csv(client, org.slug, changed, framework=fw.public_id)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Nothing has been changed yet" in html
    assert "1 competencies added" in html and "1 competencies removed" in html
    assert "1 competencies changed" in html and "Sibling two: statement" in html
    db.session.expire_all()
    assert {c.case_identifier: (c.id, c.statement) for c in fw.competencies} == before
    digest = re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', html)
    assert digest
    # Another file sent with that digest is shown, not applied.
    other = changed.replace(b"A new one", b"Another one")
    resp = send_csv(client, org.slug, other, framework=fw.public_id, sha256=digest.group(1))
    assert "not the file whose changes were shown" in resp.get_data(as_text=True)
    applied = send_csv(client, org.slug, changed, framework=fw.public_id, sha256=digest.group(1))
    assert applied.status_code == 302
    db.session.expire_all()
    after = {c.case_identifier: (c.id, c.statement) for c in fw.competencies}
    two = db.session.scalar(select(Competency).where(Competency.code == "EL.S2"))
    assert after[two.case_identifier] == (before[two.case_identifier][0], "Sibling two, reworded")
    loose = next(i["identifier"] for i in source["CFItems"] if i["humanCodingScheme"] == "EL.X")
    assert loose not in after
    kept = set(before) - {loose}
    assert all(after[i][0] == before[i][0] for i in kept)  # same rows: alignments stay
    added = db.session.scalar(select(Competency).where(Competency.code == "EL.NEW"))
    assert added.parent.code == "EL.S10"
    # What a CSV has no column for stays: document metadata, definitions, item fields, links.
    assert fw.case_extra["document"]["publisher"] == "Trades Council Publishing"
    assert fw.case_extra["definitions"] == source["CFDefinitions"]
    assert two.case_extra["lastChangeDateTime"] == source["CFItems"][0]["lastChangeDateTime"]
    links_after = {a.case_identifier for a in fw.associations}
    gone = {a["identifier"] for a in source["CFAssociations"] if loose in json.dumps(a)}
    assert links_before - gone <= links_after and len(links_after - links_before) == 1


def test_a_csv_update_that_drops_a_used_competency_changes_nothing(
    client: Client, admin_org
) -> None:
    from portfolio.credentials import services as credentials

    admin, org = admin_org
    pkg = csv_framework.parse_framework_csv(SPREADSHEET.encode(), "s.csv", title="Safety")
    from portfolio.frameworks.case import importer as case_importer

    fw = case_importer.write_package(admin, org, pkg, "s.csv").framework
    used = db.session.scalar(select(Competency).where(Competency.code == "S.3"))
    credentials.create_credential(
        admin, org, credentials.CredentialInput(name="Lockout", competency_ids=[used.id])
    )
    db.session.commit()
    before = counts()
    client.login("admin@example.org")
    without = "\n".join(SPREADSHEET.splitlines()[:-1]).encode()
    import re

    preview = send_csv(client, org.slug, without, framework=fw.public_id).get_data(as_text=True)
    assert "1 competencies removed" in preview
    digest = re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', preview)
    assert digest
    resp = send_csv(client, org.slug, without, framework=fw.public_id, sha256=digest.group(1))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "a published rubric or a credential uses" in html
    assert counts() == before
    # A new framework still needs its title.
    untitled = send_csv(client, org.slug, SPREADSHEET.encode(), framework="")
    assert "A new framework needs a title." in untitled.get_data(as_text=True)
