"""Rubrics from CSV: the documented columns, and precise line-by-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks import csv_import
from portfolio.frameworks.case.package import ImportFailed
from portfolio.frameworks.models import Rubric, RubricElement

DATA = Path(__file__).parent / "data"


def test_csv_rubric_imports_as_a_draft(make) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN))
    rubric = csv_import.import_rubric_csv(
        admin, org, (DATA / "rubric.csv").read_bytes(), "rubric.csv", title="Fillet weld"
    )
    db.session.commit()
    v = rubric.latest
    assert v.published_at is None
    assert [lv.name for lv in v.levels] == ["Not yet", "Developing", "Meets", "Exceeds"]
    assert [e.title for e in v.elements] == ["Joint preparation", "Weld quality", "Reflection"]
    weld = v.elements[1]
    assert weld.weight == 2 and weld.evidence_guidance.startswith("Photos of root")
    assert not v.elements[2].is_required
    assert v.cell(weld, v.levels[3]).descriptor == "Consistent, clean bead with no defects"
    assert v.pass_level.name == "Meets"


def test_broken_csv_names_lines_and_columns_and_writes_nothing(make) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN))
    raw = (
        b"element,level,points,descriptor,required\n"
        b"Weld,Not yet,0,Defects,yes\n"
        b"Weld,Meets,two,Good,perhaps\n"
        b"Prep,Not yet,0,,yes\n"
        b"Prep,Not yet,0,Again,yes\n"
    )
    with pytest.raises(ImportFailed) as info:
        csv_import.import_rubric_csv(admin, org, raw, "r.csv", title="Broken")
    db.session.rollback()
    text = info.value.message
    assert "r.csv: line 3: field “points”: must be a number, not 'two'" in text
    assert "r.csv: line 3: field “required”: must be yes or no" in text
    assert "r.csv: line 4: field “descriptor”: is empty" in text
    assert "line 5: field “level”: element “Prep” already has a row for level “Not yet”" in text
    assert db.session.scalar(select(func.count()).select_from(Rubric)) == 0
    assert db.session.scalar(select(func.count()).select_from(RubricElement)) == 0


def test_missing_columns_and_missing_cells(make) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN))
    with pytest.raises(ImportFailed, match="field “descriptor”: column is missing"):
        csv_import.import_rubric_csv(
            admin, org, b"element,level,points\nA,B,1\n", "x.csv", title="T"
        )
    raw = b"element,level,points,descriptor\nA,Low,0,a\nA,High,1,b\nB,Low,0,c\n"
    with pytest.raises(ImportFailed, match="element “B” has no row for level “High”"):
        csv_import.import_rubric_csv(admin, org, raw, "x.csv", title="T")
