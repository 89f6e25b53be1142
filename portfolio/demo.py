"""Demo data for `make run`: a living system rather than an empty one. Idempotent."""

from __future__ import annotations

from typing import Any

from portfolio.accounts import organizations, registration, sign_in
from portfolio.accounts.models import Organization, Role
from portfolio.extensions import db

DEMO_PASSWORD = "portfolio-demo"  # noqa: S105 - published demo password, development only
DEMO_ORG_SLUG = "northwind-trades"
DEMO_ACCOUNTS = [
    (Role.ADMIN, "admin@northwind.example", "Ada Admin"),
    (Role.ASSESSOR, "assessor@northwind.example", "Sam Assessor"),
    (Role.LEARNER, "worker@northwind.example", "Wren Worker"),
    (Role.LEARNER, "earner@northwind.example", "Erin Earner"),
]


def load_demo() -> dict[str, Any]:
    """Create the demo organization and its admin, assessor and worker if missing."""
    org = db.session.query(Organization).filter_by(slug=DEMO_ORG_SLUG).one_or_none()
    if org is None:
        org = organizations.create_organization(
            "Northwind Trades College",
            DEMO_ORG_SLUG,
            email="credentials@northwind.example",
            url="https://northwind.example",
            description="Work-based credentials for welding, electrical and care trades.",
            allows_self_registration=True,
        )
    for role, email, name in DEMO_ACCOUNTS:
        user = sign_in.find_user_by_email(email) or registration.create_user(
            email, name, DEMO_PASSWORD
        )
        organizations.add_membership(user, org, role)
    db.session.commit()
    credential = load_welding_demo(org)
    from portfolio.evidence.demo import load_evidence_demo

    load_evidence_demo(sign_in.find_user_by_email("worker@northwind.example"))
    badge_url = load_badge_demo(org, credential)
    load_queue_demo(credential)
    from portfolio.pathways.admin import load_pathway_demo

    load_pathway_demo(org, credential)
    return {
        "organization": org,
        "accounts": [(str(role), email) for role, email, _ in DEMO_ACCOUNTS],
        "links": [f"Issued badge (public, no login): {badge_url}"] if badge_url else [],
        "credential": credential,
    }


#: Identifier of the demo framework; its presence makes `load_welding_demo` a no-op.
DEMO_FRAMEWORK_ID = "7c1f0e1a-5d0b-4a8e-9a57-3f1d2b6c9e01"
DEMO_TREE = [
    ("WLD-1", "Safety and preparation", None),
    ("WLD-1.1", "Prepare a safe welding work area", "WLD-1"),
    ("WLD-1.1.1", "Inspect ventilation and fume extraction before welding", "WLD-1.1"),
    ("WLD-1.1.2", "Select and wear the required personal protective equipment", "WLD-1.1"),
    ("WLD-1.2", "Prepare joints for welding", "WLD-1"),
    ("WLD-1.2.1", "Clean and bevel joint edges to the welding procedure", "WLD-1.2"),
    ("WLD-2", "Welding processes", None),
    ("WLD-2.3", "Weld plate in the vertical position (3G)", "WLD-2"),
    ("WLD-2.3.1", "Produce a vertical-up fillet weld free of undercut", "WLD-2.3"),
    ("WLD-3", "Inspection and quality", None),
    ("WLD-3.1", "Inspect finished welds visually against the acceptance criteria", "WLD-3"),
]
DEMO_ELEMENTS = [
    (
        "Joint preparation",
        "WLD-1.2.1",
        "Photo of the prepared joint before welding.",
        [
            "Edges not cleaned or bevelled.",
            "Cleaned, bevel uneven.",
            "Cleaned and bevelled to the procedure.",
            "Exact preparation, checked and recorded.",
        ],
    ),
    (
        "Weld quality",
        "WLD-2.3.1",
        "Photos of root and cap; a macro-etch if available.",
        [
            "Visible cracks, porosity or undercut.",
            "Minor defects within repair limits.",
            "Meets the visual acceptance criteria.",
            "Consistent bead with no defects at all.",
        ],
    ),
    (
        "Safe work practice",
        "WLD-1.1",
        "Photo or short video of the set-up with PPE worn.",
        [
            "PPE or ventilation missing.",
            "PPE worn, ventilation not checked.",
            "PPE worn and ventilation checked.",
            "Also briefs co-workers and keeps a fire watch.",
        ],
    ),
    (
        "Reflection",
        "WLD-3.1",
        "A short written reflection: what went well, what to improve.",
        [
            "No reflection.",
            "Describes what was done.",
            "Explains the choices made.",
            "Explains choices and plans concrete improvements.",
        ],
    ),
]


def load_welding_demo(org: Organization) -> Any:
    """A welding framework (3 levels deep), a published rubric with 4 elements and 4 levels,
    and a published credential aligned to competencies. Skipped when already present."""
    from portfolio.credentials import services as badge_services
    from portfolio.credentials.models import Credential
    from portfolio.frameworks.models import Framework
    from portfolio.frameworks.services import competencies as competency_services
    from portfolio.frameworks.services import frameworks as framework_services
    from portfolio.frameworks.services import rubrics as rubric_services

    existing = (
        db.session.query(Framework)
        .filter_by(organization_id=org.id, case_identifier=DEMO_FRAMEWORK_ID)
        .one_or_none()
    )
    if existing is not None:
        return (
            db.session.query(Credential)
            .filter_by(organization_id=org.id, name="Vertical Fillet Welder (3G)")
            .one_or_none()
        )
    admin = sign_in.find_user_by_email(DEMO_ACCOUNTS[0][1])
    assert admin is not None
    framework = framework_services.create_framework(
        admin,
        org,
        title="Structural Welding Competencies",
        version="2024.1",
        description="Work-based competencies for structural welders.",
        source_url="https://northwind.example/frameworks/welding",
    )
    framework.case_identifier = DEMO_FRAMEWORK_ID
    by_code: dict[str, Any] = {}
    for code, statement, parent in DEMO_TREE:
        by_code[code] = competency_services.add_competency(
            admin,
            framework,
            code=code,
            statement=statement,
            parent=by_code.get(parent) if parent else None,
        )
    rubric = rubric_services.create_rubric(
        admin,
        org,
        title="Vertical fillet weld assessment",
        description="Assessment of a 3G vertical-up fillet weld on the job.",
        framework=framework,
    )
    version = rubric.latest
    data = rubric_services.version_as_input(version)
    data.elements = [
        rubric_services.ElementInput(
            public_id=None,
            title=title,
            evidence_guidance=guidance,
            competency_id=by_code[code].id,
            is_required=title != "Reflection",
            descriptors=dict(enumerate(cells)),
        )
        for title, code, guidance, cells in DEMO_ELEMENTS
    ]
    rubric_services.save_version(admin, version, data)
    rubric_services.publish_version(admin, version)
    credential = badge_services.create_credential(
        admin,
        org,
        badge_services.CredentialInput(
            name="Vertical Fillet Welder (3G)",
            description="Welds structural plate in the vertical position to the visual acceptance "
            "criteria, safely.",
            criteria_md="Submit evidence from **two** vertical-up fillet welds made on the job:\n\n"
            "- photos of the prepared joint, the root and the cap\n"
            "- a short reflection on what you would improve",
            tags=["welding", "3G", "structural"],
            rubric_version_id=version.id,
            expiry_months=36,
            max_attempts=3,
            competency_ids=[by_code["WLD-2.3"].id, by_code["WLD-2.3.1"].id, by_code["WLD-1.1"].id],
        ),
    )
    badge_services.publish_credential(admin, credential)
    db.session.commit()
    return credential


def load_badge_demo(org: Organization, credential: Any) -> str | None:
    """Erin Earner's passed submission for the demo credential, with file evidence, and the
    badge it earned. Returns the badge's public URL (None without the welding demo)."""
    from flask import current_app
    from sqlalchemy import inspect, select

    from portfolio.awards import signing
    from portfolio.awards.models import Award
    from portfolio.core.urls import public_url
    from portfolio.evidence.demo import load_evidence_demo
    from portfolio.evidence.models import EvidenceItem
    from portfolio.submissions import assessor_queue, scoring
    from portfolio.submissions import services as subs

    earner = sign_in.find_user_by_email("earner@northwind.example")
    assessor = sign_in.find_user_by_email("assessor@northwind.example")
    if credential is None or earner is None or assessor is None:
        return None
    if not inspect(db.engine).has_table(Award.__tablename__):
        return None  # database not migrated to include awards yet
    award = db.session.scalar(select(Award).where(Award.recipient_id == earner.id).limit(1))
    if award is None:
        load_evidence_demo(earner)
        items = list(
            db.session.scalars(
                select(EvidenceItem)
                .where(EvidenceItem.owner_id == earner.id)
                .order_by(EvidenceItem.id)
            )
        )
        cfg = current_app.config["PORTFOLIO"]
        # Reviews link notifications to pages, which needs a request context (not in the CLI).
        with current_app.test_request_context(base_url=cfg.public_base_url):
            sub = subs.start_submission(earner, credential)
            elements = list(sub.rubric_version.elements)
            notes = [
                "Prepared and bevelled before welding.",
                "The finished cap, inspected.",
                "Induction covering PPE and fume extraction.",
                "What I changed and why.",
            ]
            for element, item, note in zip(elements, items, notes, strict=False):
                subs.attach_evidence(earner, sub, element.public_id, item.public_id, note)
            subs.submit(earner, sub, "Two welds from the bay 3 job.")
            db.session.commit()
            assessor_queue.claim(assessor, org, sub)
            db.session.commit()
            levels = {lv.name: lv.id for lv in sub.rubric_version.levels}
            chosen = [lv.name for lv in sub.rubric_version.levels][2:] or list(levels)
            scores = [
                scoring.ScoreInput(e.public_id, levels[chosen[i % len(chosen)]], "Clear evidence.")
                for i, e in enumerate(elements)
            ]
            scoring.record_review(assessor, org, sub, scores, "Well done: a sound 3G weld.")
            db.session.commit()
        award = db.session.scalar(select(Award).where(Award.recipient_id == earner.id).limit(1))
    if award is None:
        return None
    if award.is_being_signed:
        # The demo badge is signed now rather than by the worker, so it is there at first look.
        signing.sign_pending_award(award.public_id)
        db.session.commit()
    return public_url("verify.badge", aid=award.public_id)


def load_queue_demo(credential: Any) -> None:
    """Wren Worker's submission waiting in the review queue (skipped once she has one)."""
    from sqlalchemy import select

    from portfolio.evidence.models import EvidenceItem, EvidenceState
    from portfolio.submissions import services as subs
    from portfolio.submissions.models import Submission

    worker = sign_in.find_user_by_email("worker@northwind.example")
    if credential is None or worker is None:
        return
    if db.session.scalar(select(Submission.id).where(Submission.learner_id == worker.id)):
        return
    items = list(
        db.session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.owner_id == worker.id, EvidenceItem.state == EvidenceState.READY)
            .order_by(EvidenceItem.id)
        )
    )
    if not items:
        return
    sub = subs.start_submission(worker, credential)
    for i, element in enumerate(sub.rubric_version.elements):
        item = items[i % len(items)]
        subs.attach_evidence(worker, sub, element.public_id, item.public_id, "From last week.")
    subs.submit(worker, sub, "My first go at this credential.")
    db.session.commit()
