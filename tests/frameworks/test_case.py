"""CASE import and export: the realistic package, broken packages, duplicates, round trip."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import Forbidden
from portfolio.extensions import db
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.case import parse as case_parse
from portfolio.frameworks.models import (
    Competency,
    Framework,
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)
from portfolio.frameworks.services import rubrics as rubric_services
from portfolio.frameworks.services import tree as tree_services

DATA = Path(__file__).parent / "data"
WLD_2_3 = "41d37b8b-1c78-5746-a842-6828c0ba9306"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def row_counts() -> dict[str, int]:
    models = (
        Framework,
        Competency,
        Rubric,
        RubricVersion,
        RubricElement,
        RubricLevel,
        RubricCell,
        AuditEvent,
    )
    return {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) or 0 for m in models
    }


@pytest.fixture
def admin_org(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind")
    admin = make.user((org, Role.ADMIN))
    return admin, org


def test_realistic_package_imports_tree_and_rubric_draft(admin_org) -> None:
    admin, org = admin_org
    result = case_importer.import_case_package(
        admin, org, read("welding_case.json"), "welding_case.json"
    )
    db.session.commit()
    fw = result.framework
    assert fw.title == "Welding Competencies" and fw.version == "2024.1"
    assert fw.source_url == "https://example-trades.org/frameworks/welding"
    tree = [(c.code, depth) for c, depth in tree_services.competency_tree(fw)]
    assert tree[:6] == [
        ("WLD-1", 0),
        ("WLD-1.1", 1),
        ("WLD-1.1.1", 2),
        ("WLD-1.1.2", 2),
        ("WLD-1.2", 1),
        ("WLD-1.2.1", 2),
    ]
    assert max(depth for _, depth in tree) == 2 and len(tree) == 13
    comp = db.session.scalar(select(Competency).where(Competency.code == "WLD-2.3"))
    assert comp.case_identifier == WLD_2_3
    assert comp.case_uri == f"https://case.example-trades.org/uri/{WLD_2_3}"
    assert comp.parent.code == "WLD-2"

    [rubric] = result.rubrics
    version = rubric.latest
    assert version.published_at is None  # imported as a draft
    assert [lv.name for lv in version.levels] == ["Not yet", "Developing", "Meets", "Exceeds"]
    assert [el.title for el in version.elements] == [
        "Joint preparation",
        "Weld quality",
        "Safe work practice",
        "Visual inspection",
    ]
    weld = version.elements[1]
    assert weld.weight == 2 and weld.competency.code == "WLD-2.3.1"
    assert version.cell(weld, version.levels[2]).descriptor == "Weld quality: meets the standard."
    assert version.pass_level.name == "Meets"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "framework.import"))
    assert event is not None and event.data["items"] == 13


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (
            "broken_missing_identifiers.json",
            [
                "broken_missing_identifiers.json: CFItems[4]: field “identifier”: is missing",
                "CFRubricCriterionLevels[2]: field “identifier”: is missing",
            ],
        ),
        (
            "broken_dangling_association.json",
            [
                "CFAssociations[5] ",
                "field “destinationNodeURI”: points at 00000000-0000-0000-0000-00000000dead, "
                "which is "
                "neither the CFDocument nor a CFItem of this package",
            ],
        ),
        ("broken_cycle.json", ["isChildOf associations form a cycle"]),
        (
            "broken_wrong_types.json",
            [
                "CFItems[2] ",
                "field “fullStatement”: must be a string, not a number",
                "field “sequenceNumber”: must be a whole number, not a string",
                "field “score”: must be a number, not 'lots'",
                "field “weight”: must be a number, not true/false",
            ],
        ),
    ],
)
def test_broken_packages_fail_precisely_and_change_nothing(
    admin_org, filename: str, expected: list[str]
) -> None:
    admin, org = admin_org
    before = row_counts()
    with pytest.raises(case_package.ImportFailed) as info:
        case_importer.import_case_package(admin, org, read(filename), filename)
    db.session.rollback()
    message = info.value.message
    for fragment in expected:
        assert fragment in message, message
    assert message.startswith("Nothing was imported.")
    assert row_counts() == before


def test_cycle_names_the_items_in_the_loop(admin_org) -> None:
    _admin, _org = admin_org
    with pytest.raises(case_package.ImportFailed) as info:
        case_parse.parse_case_package(read("broken_cycle.json"), "broken_cycle.json")
    [problem] = [p for p in info.value.problems if "cycle" in p.reason]
    pkg = json.loads(read("welding_case.json"))
    ids = {i["humanCodingScheme"]: i["identifier"] for i in pkg["CFItems"]}
    for code in ("WLD-1", "WLD-1.1", "WLD-1.1.1"):
        assert ids[code] in problem.reason
    assert problem.file == "broken_cycle.json"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "must be a JSON object with a CFDocument"),
        (b'{"CFItems": []}', "field “CFDocument”: is missing"),
        (
            b'{"CFDocument": {"identifier": "x", "title": "T"}, "CFItems": {}}',
            "field “CFItems”: must be a list, not an object",
        ),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_malformed_files(admin_org, raw: bytes, reason: str) -> None:
    admin, org = admin_org
    with pytest.raises(case_package.ImportFailed) as info:
        case_importer.import_case_package(admin, org, raw, "upload.json")
    assert reason in info.value.message and "upload.json" in info.value.message


def test_criteria_with_different_levels_are_mapped_by_score_with_a_report(admin_org) -> None:
    admin, org = admin_org
    pkg = json.loads(read("welding_case.json"))
    criteria = pkg["CFRubrics"][0]["CFRubricCriteria"]
    dropped = criteria[2]["CFRubricCriterionLevels"].pop()
    # Another criterion names its top level differently.
    criteria[1]["CFRubricCriterionLevels"][-1]["quality"] = "Outstanding"
    result = case_importer.import_case_package(admin, org, json.dumps(pkg).encode(), "p.json")
    version = result.rubrics[0].latest
    names = [lv.name for lv in version.levels]
    top = criteria[0]["CFRubricCriterionLevels"][-1]["quality"]
    assert names[-1] == f"{top} / Outstanding"
    assert len(names) == len(criteria[0]["CFRubricCriterionLevels"])
    element = version.elements[2]
    missing = next(lv for lv in version.levels if lv.points == Decimal(str(dropped["score"])))
    assert version.cell(element, missing).descriptor == ""
    assert any("mapped onto one set of levels by score" in n for n in result.notes)
    assert any(
        f"“{element.title}”" in n and f"“{missing.name}”" in n and "empty" in n
        for n in result.notes
    )
    assert f"Describe “{element.title}” at level “{missing.name}”." in (
        rubric_services.publication_problems(version)
    )


def test_duplicate_import_is_detected_and_offered_as_update(admin_org) -> None:
    admin, org = admin_org
    first = case_importer.import_case_package(admin, org, read("welding_case.json"), "a.json")
    db.session.commit()
    before = row_counts()
    with pytest.raises(case_package.DuplicateImport) as info:
        case_importer.import_case_package(admin, org, read("welding_case.json"), "a.json")
    db.session.rollback()
    assert info.value.framework.id == first.framework.id
    assert "update" in info.value.message
    assert row_counts() == before

    pkg = json.loads(read("welding_case.json"))
    pkg["CFDocument"]["title"] = "Welding Competencies (revised)"
    pkg["CFItems"][0]["fullStatement"] = "Safety, preparation and housekeeping"
    second = case_importer.import_case_package(
        admin, org, json.dumps(pkg).encode(), "a.json", update_existing=True
    )
    db.session.commit()
    assert second.updated and second.framework.id == first.framework.id
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1
    assert db.session.scalar(select(func.count()).select_from(Competency)) == 13
    assert second.framework.title == "Welding Competencies (revised)"
    assert db.session.scalar(select(func.count()).select_from(Rubric)) == 1


def test_update_of_a_published_rubric_creates_a_new_draft_version(admin_org) -> None:
    admin, org = admin_org
    result = case_importer.import_case_package(admin, org, read("welding_case.json"), "a.json")
    rubric_services.publish_version(admin, result.rubrics[0].latest)
    db.session.commit()
    published = result.rubrics[0].latest
    snapshot = case_export.export_rubric(published, result.rubrics[0])
    case_importer.import_case_package(
        admin, org, read("welding_case.json"), "a.json", update_existing=True
    )
    db.session.commit()
    rubric = result.rubrics[0]
    assert [v.number for v in rubric.versions] == [1, 2]
    assert rubric.latest.published_at is None
    assert case_export.export_rubric(published, rubric) == snapshot


def normalized(package: dict[str, Any]) -> dict[str, Any]:
    """A package without the timestamps that legitimately change between exports."""
    text = json.dumps(package, sort_keys=True)
    data = json.loads(text)

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "lastChangeDateTime"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(data)


def test_import_export_import_is_stable(make, admin_org) -> None:
    admin, org = admin_org
    first = case_importer.import_case_package(admin, org, read("welding_case.json"), "w.json")
    db.session.commit()
    exported = case_export.export_case_package(first.framework)
    assert {"CFDocument", "CFItems", "CFAssociations", "CFRubrics"} <= exported.keys()
    original = json.loads(read("welding_case.json"))
    assert exported["CFDocument"]["identifier"] == original["CFDocument"]["identifier"]
    assert {i["identifier"] for i in exported["CFItems"]} == {
        i["identifier"] for i in original["CFItems"]
    }
    assert {i["uri"] for i in exported["CFItems"]} == {i["uri"] for i in original["CFItems"]}

    other = make.org("Elsewhere")
    other_admin = make.user((other, Role.ADMIN))
    second = case_importer.import_case_package(
        other_admin, other, json.dumps(exported).encode(), "export.json"
    )
    db.session.commit()
    again = case_export.export_case_package(second.framework)
    assert normalized(again) == normalized(exported)

    def shape(result: case_importer.ImportResult) -> Any:
        fw = result.framework
        v = result.rubrics[0].latest
        return (
            (fw.title, fw.version, fw.description, fw.source_url, fw.case_identifier),
            [
                (c.code, c.statement, c.case_identifier, c.case_uri, d)
                for c, d in tree_services.competency_tree(fw)
            ],
            (v.title, v.pass_level_position, v.min_total_points),
            [(lv.name, lv.points) for lv in v.levels],
            [
                (
                    e.title,
                    e.weight,
                    e.is_required,
                    e.case_identifier,
                    e.competency.case_identifier if e.competency else None,
                    [v.cell(e, lv).descriptor for lv in v.levels],
                )
                for e in v.elements
            ],
        )

    assert shape(first) == shape(second)


def test_exported_rubric_keeps_portfolio_fields(admin_org) -> None:
    admin, org = admin_org
    result = case_importer.import_case_package(admin, org, read("welding_case.json"), "w.json")
    version = result.rubrics[0].latest
    data = rubric_services.version_as_input(version)
    data.elements[0].evidence_guidance = "Photo of both edges"
    data.elements[0].is_required = False
    data.min_total_points = 8
    rubric_services.save_version(admin, version, data)
    db.session.commit()
    exported = case_export.export_case_package(result.framework)
    pkg = json.dumps(exported).encode()
    other_org_admin = admin  # same org: update in place
    again = case_importer.import_case_package(
        other_org_admin, org, pkg, "e.json", update_existing=True
    )
    element = again.rubrics[0].latest.elements[0]
    assert element.evidence_guidance == "Photo of both edges" and not element.is_required
    assert again.rubrics[0].latest.min_total_points == 8


def test_only_admins_import(make) -> None:
    org = make.org()
    learner = make.user((org, Role.LEARNER))
    with pytest.raises(Forbidden):
        case_importer.import_case_package(learner, org, read("welding_case.json"), "w.json")
