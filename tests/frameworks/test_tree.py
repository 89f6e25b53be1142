"""A framework's tree a branch at a time (wide, deep, several parents), the search within it,
and deleting competencies and frameworks whose items have several parents and alignments."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.credentials import services as credentials
from portfolio.credentials.models import Credential, CredentialAlignment
from portfolio.extensions import db
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.models import (
    Competency,
    CompetencyAssociation,
    Framework,
    Rubric,
    RubricElement,
)
from portfolio.frameworks.services import rubrics as rubric_services
from tests.conftest import Client, QueryCounter
from tests.frameworks.case_packages import STAMP, chain_package, uid


def package(title: str, spec: list[tuple[str, list[str | None]]]) -> dict[str, Any]:
    """Items by code with their parents (codes, None for the top level), in order."""
    doc = uid(f"doc/{title}")

    def ref(code: str | None) -> dict[str, str]:
        ident = doc if code is None else uid(f"{title}/{code}")
        return {"title": "", "identifier": ident, "uri": f"urn:uuid:{ident}"}

    items, assocs = [], []
    for n, (code, parents) in enumerate(spec):
        ident = uid(f"{title}/{code}")
        items.append(
            {
                "identifier": ident,
                "uri": f"urn:uuid:{ident}",
                "fullStatement": f"Statement of {code}",
                "humanCodingScheme": code,
                "lastChangeDateTime": STAMP,
            }
        )
        for parent in parents:
            a_id = uid(f"{title}/{code}/under/{parent}")
            assocs.append(
                {
                    "identifier": a_id,
                    "uri": f"urn:uuid:{a_id}",
                    "associationType": "isChildOf",
                    "originNodeURI": ref(code),
                    "destinationNodeURI": ref(parent),
                    "sequenceNumber": str(n),
                    "lastChangeDateTime": STAMP,
                }
            )
    related = uid(f"{title}/related")
    if len(spec) > 1:
        assocs.append(
            {
                "identifier": related,
                "uri": f"urn:uuid:{related}",
                "associationType": "isRelatedTo",
                "originNodeURI": ref(spec[-1][0]),
                "destinationNodeURI": ref(spec[0][0]),
                "lastChangeDateTime": STAMP,
            }
        )
    return {
        "CFDocument": {
            "identifier": doc,
            "uri": f"urn:uuid:{doc}",
            "creator": "Tests",
            "title": title,
            "lastChangeDateTime": STAMP,
        },
        "CFItems": items,
        "CFAssociations": assocs,
    }


@pytest.fixture
def admin_org(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind", slug="northwind")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    return admin, org


def load(admin_org, data: dict[str, Any]) -> Framework:  # type: ignore[no-untyped-def]
    admin, org = admin_org
    fw = case_importer.import_case_package(
        admin, org, json.dumps(data).encode(), "p.json"
    ).framework
    db.session.commit()
    return fw


def code_of(code: str) -> Competency:
    return db.session.scalar(select(Competency).where(Competency.code == code))


#: A and B at the top; S under both (A first); S.1 under S; D under B and also at the top.
SHARED = [
    ("A", [None]),
    ("B", [None]),
    ("S", ["A", "B"]),
    ("S.1", ["S"]),
    ("D", ["B", None]),
]


def test_a_wide_framework_comes_a_page_at_a_time_in_the_same_number_of_statements(
    client: Client, admin_org, query_counter: QueryCounter
) -> None:
    small = load(admin_org, package("Small", [(f"T{n:03d}", [None]) for n in range(30)]))
    wide = load(admin_org, package("Wide", [(f"T{n:03d}", [None]) for n in range(250)]))
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{wide.public_id}"
    small_count, _ = query_counter.get(client, f"/o/northwind/frameworks/{small.public_id}")
    wide_count, html = query_counter.get(client, base)
    assert wide_count == small_count
    assert "<strong>T099</strong>" in html and "<strong>T100</strong>" not in html
    assert 'Competencies <span class="muted">(250)</span>' in html
    assert f'href="{base}?page=2#tree-h"' in html and "Show more (100 of 250 shown)" in html
    last = client.get(f"{base}?page=3").get_data(as_text=True)
    assert "<strong>T249</strong>" in last and "<strong>T199</strong>" not in last
    assert "Show more" not in last
    # The next page as a fragment, for the script to append; the public page pages too.
    fragment = client.get(f"/o/northwind/frameworks/{wide.public_id}/tree?page=2")
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert "<strong>T100</strong>" in text and "<strong>T099</strong>" not in text
    public = client.get(f"/frameworks/{wide.public_id}?page=2").get_data(as_text=True)
    assert "<strong>T150</strong>" in public and "Open" not in public.split("tree-h")[1][:2000]


def test_a_competency_with_two_parents_is_under_each_with_what_is_below_it(
    client: Client, other_client: Client, admin_org
) -> None:
    fw = load(admin_org, package("Shared", SHARED))
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{fw.public_id}"
    top = client.get(base).get_data(as_text=True)
    # A, B and D (D is at the top level too, as a further parent); S is not at the top.
    assert all(f"<strong>{c}</strong>" in top for c in ("A", "B", "D"))
    assert "<strong>S</strong>" not in top
    s = code_of("S")
    for parent, also in (("A", False), ("B", True)):
        branch = client.get(f"{base}?at={code_of(parent).public_id}").get_data(as_text=True)
        assert "<strong>S</strong>" in branch, parent
        assert ("(also listed under another parent)" in branch) is also, parent
        # Without a script: a link to S's own branch; with one, the fragment of it.
        assert f'href="{base}?at={s.public_id}#tree-h"' in branch
        assert f'data-fragment="{base}/tree?at={s.public_id}"' in branch
        assert "1 below" in branch
    below_s = client.get(f"{base}/tree?at={s.public_id}").get_data(as_text=True)
    assert "<strong>S.1</strong>" in below_s
    # The path shown is S's first parent's.
    at_s = client.get(f"{base}?at={s.public_id}").get_data(as_text=True)
    assert re.search(r"Top level</a>\s*\u203a\s*<a[^>]*>A</a>\s*\u203a <strong>S</strong>", at_s)
    # Anyone sees the same on the public page; alignments are to the one competency S.
    public = other_client.get(f"/frameworks/{fw.public_id}/tree?at={code_of('B').public_id}")
    assert public.status_code == 200 and "Statement of S" in public.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Competency.code == "S")) == 1


def test_search_within_the_framework_links_to_the_place_in_the_tree(
    client: Client, admin_org
) -> None:
    fw = load(admin_org, package("Shared", SHARED))
    load(admin_org, package("Elsewhere", [("S.1", [None])]))
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{fw.public_id}"
    html = client.get(f"{base}?q=s.1").get_data(as_text=True)
    found = html.split('id="found-h"')[1].split("Clear the search")[0]
    assert found.count("Statement of S.1") == 1  # not the other framework's
    s, s1 = (
        code_of("S"),
        db.session.scalar(
            select(Competency).where(Competency.code == "S.1", Competency.framework_id == fw.id)
        ),
    )
    assert f'href="{base}?at={s.public_id}#c-{s1.public_id}"' in found
    nothing = client.get(f"{base}?q=no+such+words").get_data(as_text=True)
    assert "No competency matches “no such words”" in nothing


def associations_of(fw: Framework) -> list[tuple[str, str, str]]:
    """(type, origin code, destination code or "" outside the items) of every link kept."""
    rows = db.session.execute(
        select(CompetencyAssociation).where(CompetencyAssociation.framework_id == fw.id)
    ).scalars()
    return sorted(
        (
            a.association_type,
            a.origin.code if a.origin else "",
            a.destination.code if a.destination else "",
        )
        for a in rows
    )


def test_deleting_a_parent_keeps_what_is_also_under_another_and_leaves_no_links(
    client: Client, admin_org
) -> None:
    fw = load(admin_org, package("Shared", SHARED))
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{fw.public_id}"
    resp = client.submit(f"{base}/competencies/{code_of('A').public_id}/delete", page=base)
    assert resp.status_code == 302
    assert "Competency deleted." in client.get(base).get_data(as_text=True)
    db.session.expire_all()
    assert code_of("A") is None
    s = code_of("S")
    assert s.parent_id == code_of("B").id and code_of("S.1").parent_id == s.id
    # The links to and from A went with it (S under A, A at the top, D related to A).
    assert associations_of(fw) == [
        ("isChildOf", "B", ""),
        ("isChildOf", "D", ""),
        ("isChildOf", "D", "B"),
        ("isChildOf", "S", "B"),
        ("isChildOf", "S.1", "S"),
    ]
    # B goes with S and S.1 (listed only below it); D stays at the top level.
    resp = client.submit(f"{base}/competencies/{code_of('B').public_id}/delete", page=base)
    assert "Competency deleted with 2 listed only below it." in client.get(resp.location).get_data(
        as_text=True
    )
    db.session.expire_all()
    assert [c.code for c in fw.competencies] == ["D"] and code_of("D").parent_id is None
    assert associations_of(fw) == [("isChildOf", "D", "")]
    assert problems_free_export(fw)


def problems_free_export(fw: Framework) -> bool:
    # The autouse fixture validates the package against the CASE schema as it is made.
    return bool(case_export.export_case_package(fw)["CFItems"])


def test_what_a_credential_uses_is_not_deleted_and_the_refusal_names_it(
    client: Client, admin_org
) -> None:
    admin, org = admin_org
    fw = load(admin_org, package("Shared", SHARED))
    cred = credentials.create_credential(
        admin,
        org,
        credentials.CredentialInput(name="Shared wirer", competency_ids=[code_of("S.1").id]),
    )
    rubric = rubric_services.create_rubric(admin, org, title="Draft rubric", framework=fw)
    draft = rubric_services.version_as_input(rubric.latest)
    draft.elements.append(
        rubric_services.ElementInput(public_id=None, title="Uses D", competency_id=code_of("D").id)
    )
    rubric_services.save_version(admin, rubric.latest, draft)
    db.session.commit()
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{fw.public_id}"
    # A can go: S (and S.1 with it) stays under B.
    client.submit(f"{base}/competencies/{code_of('A').public_id}/delete", page=base)
    db.session.expire_all()
    assert code_of("A") is None and code_of("S.1") is not None
    # B cannot: S.1 would go with it.
    resp = client.submit(f"{base}/competencies/{code_of('B').public_id}/delete", page=base)
    html = client.get(resp.location).get_data(as_text=True)
    assert "used by the credential “Shared wirer”" in html and "Nothing was deleted" in html
    db.session.expire_all()
    assert code_of("B") is not None and len(fw.competencies) == 4
    resp = client.submit(f"{base}/delete", page=base)
    html = client.get(resp.location).get_data(as_text=True)
    assert "This framework is used by the credential “Shared wirer”" in html
    assert db.session.get(Framework, fw.id) is not None
    # Once the credential no longer aligns to it, the framework goes with all its rows; the
    # draft rubric stays, without the framework and without the competency.
    credentials.update_credential(
        admin, cred, credentials.CredentialInput(name="Shared wirer", competency_ids=[])
    )
    db.session.commit()
    fw_id = fw.id
    resp = client.submit(f"{base}/delete", page=base)
    assert "Framework deleted." in client.get(resp.location).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Framework, fw_id) is None
    for model in (Competency, CompetencyAssociation):
        left = db.session.scalar(
            select(func.count()).select_from(model).where(model.framework_id == fw_id)
        )
        assert left == 0, model
    assert db.session.scalar(select(func.count()).select_from(CredentialAlignment)) == 0
    assert db.session.get(Credential, cred.id) is not None
    kept = db.session.get(Rubric, rubric.id)
    assert kept.framework_id is None
    element = db.session.scalar(select(RubricElement).where(RubricElement.title == "Uses D"))
    assert element.competency_id is None


def test_a_1200_deep_chain_is_deleted_whole_by_its_top(client: Client, admin_org) -> None:
    first = load(admin_org, chain_package(1200))
    second = load(admin_org, chain_package(1201))
    client.login("admin@example.org")
    base = f"/o/northwind/frameworks/{first.public_id}"
    top = db.session.scalar(
        select(Competency).where(Competency.framework_id == first.id, Competency.code == "C0")
    )
    resp = client.submit(f"{base}/competencies/{top.public_id}/delete", page=base)
    assert "Competency deleted with 1199 listed only below it." in client.get(
        resp.location
    ).get_data(as_text=True)
    other = f"/o/northwind/frameworks/{second.public_id}"
    resp = client.submit(f"{other}/delete", page=other)
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Competency)) == 0
    assert db.session.scalar(select(func.count()).select_from(CompetencyAssociation)) == 0
