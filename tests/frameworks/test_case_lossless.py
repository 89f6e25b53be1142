"""CASE round trips that lose nothing: every field, every association type, several parents,
numeric strings, identifiers that are not UUIDs, deep trees; valid CASE 1.0 out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework
from portfolio.frameworks.services import tree as tree_services
from tests.case_schema import problems
from tests.frameworks.case_packages import (
    DOC_ID,
    OUTSIDE,
    TYPES,
    chain_package,
    rich_package,
    uid,
)


@pytest.fixture
def two_orgs(make):  # type: ignore[no-untyped-def]
    first, second = make.org("Northwind"), make.org("Southwind")
    return (make.user((first, Role.ADMIN)), first), (make.user((second, Role.ADMIN)), second)


def load(actor, org, data: dict[str, Any], **kwargs: Any) -> case_importer.ImportResult:  # type: ignore[no-untyped-def]
    result = case_importer.import_case_package(
        actor, org, json.dumps(data).encode(), "p.json", **kwargs
    )
    db.session.commit()
    return result


def stored(fw: Framework) -> dict[str, Any]:
    """Everything kept of a framework, keyed by CASE identifiers (not database ids)."""
    by_id = {c.id: c.case_identifier for c in fw.competencies}
    return {
        "framework": (
            fw.title,
            fw.version,
            fw.description,
            fw.source_url,
            fw.creator,
            fw.case_identifier,
            fw.case_uri,
            fw.case_extra,
        ),
        "items": {
            c.case_identifier: (
                c.statement,
                c.code,
                c.description,
                c.item_type,
                c.case_uri,
                c.position,
                by_id.get(c.parent_id),
                c.case_extra,
            )
            for c in fw.competencies
        },
        "associations": {
            a.case_identifier: (
                a.association_type,
                by_id.get(a.origin_id),
                by_id.get(a.destination_id),
                a.case_data,
            )
            for a in fw.associations
        },
    }


def original_identifier(obj: dict[str, Any]) -> str:
    ext = obj.get("extensions") or {}
    return str(ext.get(case_package.EXT_IDENTIFIER, obj["identifier"]))


def test_import_export_import_is_lossless_field_by_field(two_orgs) -> None:
    (admin, org), (other_admin, other) = two_orgs
    source = rich_package()
    first = load(admin, org, source)
    exported = case_export.export_case_package(first.framework)
    assert problems(exported) == []

    # Every field of the source comes out as it went in (sequence numbers as numbers).
    doc = exported["CFDocument"]
    for key, value in source["CFDocument"].items():
        if key != "identifier":
            assert doc[key] == value, key
    assert original_identifier(doc) == DOC_ID and doc["identifier"] != DOC_ID
    out_items = {original_identifier(i): i for i in exported["CFItems"]}
    assert len(out_items) == len(source["CFItems"])
    for item in source["CFItems"]:
        out = out_items[item["identifier"]]
        for key, value in item.items():
            if key in {"identifier", "CFDocumentURI"}:
                continue
            assert out[key] == value, (item["identifier"], key)
    out_assocs = {original_identifier(a): a for a in exported["CFAssociations"]}
    assert len(out_assocs) == len(source["CFAssociations"])
    for assoc in source["CFAssociations"]:
        out = out_assocs[assoc["identifier"]]
        for key, value in assoc.items():
            if key == "sequenceNumber":
                assert out[key] == int(value)
            elif key != "identifier":
                assert out[key] == value, (assoc["identifier"], key)
    assert exported["CFDefinitions"] == source["CFDefinitions"]
    assert {a["associationType"] for a in exported["CFAssociations"]} == {"isChildOf", *TYPES}

    # Imported again elsewhere, it is the same framework, field by field.
    second = load(other_admin, other, exported)
    assert stored(second.framework) == stored(first.framework)
    assert case_export.export_case_package(second.framework) == exported


def test_several_parents_numeric_strings_and_deep_levels(two_orgs) -> None:
    (admin, org), _ = two_orgs
    fw = load(admin, org, rich_package(depth=8)).framework
    tree = [(c.code, d) for c, d in tree_services.competency_tree(fw)]
    assert max(d for _, d in tree) == 7  # eight levels
    top = [code for code, d in tree if d == 1 and code.startswith("EL.S")]
    assert top == ["EL.S2", "EL.S10"]  # "2" before "10": read as numbers
    by_code = {c.code: c for c in fw.competencies}
    # Listed under each of its two parents.
    under_two = tree_services.tree_branch(fw, by_code["EL.S2"]).nodes
    under_ten = tree_services.tree_branch(fw, by_code["EL.S10"]).nodes
    assert [(n.competency.code, n.is_also_here) for n in under_two + under_ten] in (
        [("EL.SH", False), ("EL.SH", True)],
        [("EL.SH", True), ("EL.SH", False)],
    )
    assert len(tree) == len(fw.competencies)  # each once in the tree itself
    # The item without isChildOf stays at the top and gets none on export.
    loose = db.session.scalar(select(Competency).where(Competency.code == "EL.X"))
    assert loose.parent_id is None
    exported = case_export.export_case_package(fw)
    assert not [
        a
        for a in exported["CFAssociations"]
        if a["associationType"] == "isChildOf"
        and a["originNodeURI"]["identifier"] == loose.case_identifier
    ]


def test_update_keeps_competency_ids_so_alignments_stay(two_orgs) -> None:
    (admin, org), _ = two_orgs
    source = rich_package()
    fw = load(admin, org, source).framework
    ids = {c.case_identifier: c.id for c in fw.competencies}
    changed = copy.deepcopy(source)
    changed["CFItems"][0]["fullStatement"] = "Level 1, reworded"
    again = load(admin, org, changed, update_existing=True).framework
    assert again.id == fw.id
    assert {c.case_identifier: c.id for c in again.competencies} == ids
    assert again.competencies and any(
        c.statement == "Level 1, reworded" for c in again.competencies
    )
    count = db.session.scalar(
        select(db.func.count())
        .select_from(CompetencyAssociation)
        .where(CompetencyAssociation.framework_id == fw.id)
    )
    assert count == len(source["CFAssociations"])


def test_relations_show_on_competency_pages_with_outside_items_as_links(two_orgs, client) -> None:
    (admin, org), _ = two_orgs
    fw = load(admin, org, rich_package()).framework
    two = db.session.scalar(select(Competency).where(Competency.code == "EL.S2"))
    page = client.get(f"/frameworks/{fw.public_id}/competencies/{two.public_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sibling two" in html
    assert f'href="{OUTSIDE}"' in html and "Exact match of" in html
    assert "Has below it" in html  # the shared item under it as a second parent
    data = client.get(
        f"/frameworks/{fw.public_id}/competencies/{two.public_id}",
        headers={"Accept": "application/json"},
    )
    assert data.mimetype == "application/json"
    item = data.get_json()
    assert item["identifier"] == uid("S2") and item["fullStatement"] == "Sibling two"
    assert problems(item, kind="item") == []
    public = client.get(f"/frameworks/{fw.public_id}").get_data(as_text=True)
    assert "Level 1 statement" in public and "Sibling two" not in public  # a branch at a time
    for code in ("EL.S2", "EL.S10"):
        parent = db.session.scalar(select(Competency).where(Competency.code == code))
        branch = client.get(f"/frameworks/{fw.public_id}?at={parent.public_id}")
        assert "Shared competency" in branch.get_data(as_text=True), code


def test_a_1200_deep_chain_imports_renders_and_its_loop_is_found(make, client) -> None:
    org = make.org("Deep")
    admin = make.user((org, Role.ADMIN), email="deep@example.org")
    with pytest.raises(case_package.ImportFailed) as info:
        load(admin, org, chain_package(1200, cycle=True))
    assert "form a cycle" in info.value.message
    assert len([p for p in info.value.problems if "cycle" in p.reason]) == 1
    fw = load(admin, org, chain_package(1200)).framework
    assert tree_services.competency_tree(fw)[-1][1] == 1199
    client.login("deep@example.org")
    page = client.get(f"/o/{org.slug}/frameworks/{fw.public_id}").get_data(as_text=True)
    assert "Step 0" in page and "Step 1<" not in page and "1 below" in page
    last = db.session.scalar(select(Competency).where(Competency.code == "C1198"))
    deep = client.get(f"/o/{org.slug}/frameworks/{fw.public_id}?at={last.public_id}")
    html = deep.get_data(as_text=True)
    assert deep.status_code == 200 and "level 1200" in html and "Step 1199" in html
    assert "… 1192 levels …" in html and len(html) < 60_000  # the path is shortened
    form = client.get(f"/o/{org.slug}/credentials/new")
    assert form.status_code == 200
    assert problems(case_export.export_case_package(fw)) == []


def test_unknown_association_type_is_refused_by_name(two_orgs) -> None:
    (admin, org), _ = two_orgs
    data = rich_package()
    data["CFAssociations"][0]["associationType"] = "isTranslationOf"
    with pytest.raises(case_package.ImportFailed) as info:
        load(admin, org, data)
    assert "“isTranslationOf” is not a CASE 1.0 association type" in info.value.message


def test_the_schema_check_catches_what_case_does_not_allow() -> None:
    found = problems(
        {
            "CFDocument": {"identifier": "x", "uri": "u", "creator": "c", "title": "t"},
            "CFRubrics": [{"identifier": "y", "uri": "urn:x", "extensions": {}}],
        }
    )
    assert any("lastChangeDateTime" in p for p in found)
    assert any("extensions" in p for p in found)
    assert any("does not match" in p for p in found)  # identifier not a UUID
