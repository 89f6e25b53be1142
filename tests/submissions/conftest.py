"""A published credential with a four-element rubric, a worker with evidence, assessors."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from portfolio.accounts.models import Organization, Role, User
from portfolio.core.db import utcnow
from portfolio.credentials.models import Credential, CredentialState
from portfolio.evidence import services as evidence_services
from portfolio.evidence import uploads as evidence_uploads
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.frameworks.models import (
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)

LEVELS = [("Not yet", 0), ("Developing", 1), ("Meets", 2), ("Exceeds", 3)]
ELEMENTS = [
    ("Prepare the joint", True),
    ("Weld the joint", True),
    ("Inspect the weld", True),
    ("Tidy the workplace", False),
]


def png_bytes(color: str = "orange") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids"
        b"[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


@dataclass
class Scenario:
    org: Organization
    admin: User
    assessor: User
    assessor2: User
    worker: User
    credential: Credential
    version: RubricVersion
    items: dict[str, EvidenceItem] = field(default_factory=dict)

    @property
    def elements(self) -> list[RubricElement]:
        return list(self.version.elements)

    @property
    def levels(self) -> list[RubricLevel]:
        return list(self.version.levels)

    def level(self, name: str) -> RubricLevel:
        return next(lv for lv in self.version.levels if lv.name == name)


def build_version(
    org: Organization,
    admin: User,
    *,
    title: str = "Fillet weld rubric",
    pass_level: int = 2,
    min_total: Decimal | None = None,
) -> RubricVersion:
    rubric = Rubric(organization_id=org.id, title=title)
    version = RubricVersion(
        rubric=rubric,
        number=1,
        title=title,
        pass_level_position=pass_level,
        min_total_points=min_total,
        published_at=utcnow(),
        published_by_id=admin.id,
    )
    levels = [RubricLevel(position=i, name=n, points=Decimal(p)) for i, (n, p) in enumerate(LEVELS)]
    version.levels.extend(levels)
    for i, (title_, required) in enumerate(ELEMENTS):
        element = RubricElement(
            position=i,
            title=title_,
            is_required=required,
            evidence_guidance=f"Show us: {title_.lower()}.",
        )
        for level in levels:
            element.cells.append(RubricCell(level=level, descriptor=f"{title_} at {level.name}."))
        version.elements.append(element)
    db.session.add(rubric)
    db.session.flush()
    return version


def build_credential(
    org: Organization,
    version: RubricVersion,
    *,
    name: str = "Fillet Welding",
    max_attempts: int | None = 2,
) -> Credential:
    cred = Credential(
        organization_id=org.id,
        name=name,
        description=f"{name} on the job.",
        criteria_md="Pass the rubric.",
        criteria_html="<p>Pass the rubric.</p>",
        rubric_version_id=version.id,
        max_attempts=max_attempts,
        state=CredentialState.PUBLISHED,
        published_at=utcnow(),
    )
    db.session.add(cred)
    db.session.flush()
    return cred


@pytest.fixture
def scenario(app, make) -> Scenario:  # type: ignore[no-untyped-def]
    org = make.org("Acme Welding", email="badges@acme.example")
    admin = make.user((org, Role.ADMIN), email="admin@example.org", name="Ada Admin")
    assessor = make.user((org, Role.ASSESSOR), email="sam@example.org", name="Sam Assessor")
    assessor2 = make.user((org, Role.ASSESSOR), email="sue@example.org", name="Sue Assessor")
    worker = make.user((org, Role.LEARNER), email="wren@example.org", name="Wren Worker")
    version = build_version(org, admin)
    cred = build_credential(org, version)
    s = Scenario(org, admin, assessor, assessor2, worker, cred, version)
    s.items["photo"] = evidence_uploads.upload_stream(
        worker,
        io.BytesIO(png_bytes()),
        filename="joint.png",
        declared_size=None,
        title="Joint photo",
    )
    s.items["pdf"] = evidence_uploads.upload_stream(
        worker,
        io.BytesIO(pdf_bytes()),
        filename="inspection.pdf",
        declared_size=None,
        title="Inspection report",
    )
    s.items["link"] = evidence_services.create_link(
        worker, title="Site log", url="https://example.org/log"
    )
    s.items["text"] = evidence_services.create_reflection(
        worker, title="What I learned", body="I kept the **arc** short."
    )
    db.session.commit()
    return s


def attach_all(client: Any, s: Scenario, sub_public_id: str) -> None:
    """Map evidence to every element through the pages, as the worker would."""
    mapping = [("photo", 0), ("pdf", 1), ("text", 2), ("link", 3)]
    for key, idx in mapping:
        resp = client.submit(
            f"/submissions/{sub_public_id}/evidence",
            {
                "element": s.elements[idx].public_id,
                "item": s.items[key].public_id,
                "note": f"{key} shows it",
            },
            page=f"/submissions/{sub_public_id}",
        )
        assert resp.status_code == 302


def start(client: Any, s: Scenario) -> str:
    resp = client.submit(
        f"/o/{s.org.slug}/credentials/{s.credential.public_id}/start", {}, page="/dashboard"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return str(resp.location.rsplit("/", 1)[1])


def submit(client: Any, sub_public_id: str) -> Any:
    return client.submit(
        f"/submissions/{sub_public_id}/submit",
        {"confirm": "y"},
        page=f"/submissions/{sub_public_id}",
    )


def score_form(s: Scenario, levels: list[str], feedback: str = "Good work.") -> dict[str, str]:
    data = {"feedback": feedback}
    for element, level_name in zip(s.elements, levels, strict=True):
        data[f"level-{element.public_id}"] = str(s.level(level_name).id)
        data[f"remark-{element.public_id}"] = f"Remark on {element.title}"
    return data
