"""Marking plans are versioned with the credential: work in flight keeps the plan it was
submitted under; new work takes the plan in force; every version stays readable."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Role, User
from portfolio.evidence import services as evidence_services
from portfolio.extensions import db
from portfolio.submissions import access, marking_plans, services
from portfolio.submissions.models import (
    MarkingMode,
    MarkingPlanVersion,
    SubmissionState,
    VerificationMode,
    VerificationSample,
    WaitingFor,
)
from tests.submissions.conftest import Scenario
from tests.submissions.workflow import PASS, configure, counts, mark, signed_in, sub_of, submitted


def _submitted_by_another_worker(app: Flask, make, s: Scenario) -> str:  # type: ignore[no-untyped-def]
    """A second worker's submission of the same credential (links as evidence)."""
    other = make.user((s.org, Role.LEARNER), email="olu@example.org", name="Olu Other")
    with app.test_request_context():
        worker = db.session.get(User, other.id)
        assert worker is not None
        sub = services.start_submission(worker, s.credential)
        db.session.flush()
        for element in s.elements:
            item = evidence_services.create_link(
                worker, title=f"Log for {element.title}", url="https://example.org/olu"
            )
            services.attach_evidence(worker, sub, element.public_id, item.public_id, "see log")
        services.submit(worker, sub)
        db.session.commit()
        return sub.public_id


def test_work_in_the_queue_keeps_single_marking_when_the_plan_turns_double(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    configure(app, s, mode=MarkingMode.SINGLE)
    waiting = submitted(app, s)
    # The admin switches to blind double marking through the settings page.
    admin = signed_in(app, "admin@example.org")
    page_url = f"/o/{s.org.slug}/credentials/{s.credential.public_id}/marking"
    resp = admin.submit(
        page_url,
        {"action": "save", "mode": "double", "is_blind": "y", "iqa_rate": "0", "iqa_mode": "hold"},
        page=page_url,
    )
    assert resp.status_code == 302
    fresh = _submitted_by_another_worker(app, make, s)
    assert sub_of(waiting).marking_plan_version == 1
    assert sub_of(fresh).marking_plan_version == 2

    # The submission already waiting is decided by one assessor, as its plan said.
    mark(app, s, s.assessor, waiting, PASS)
    assert sub_of(waiting).state == SubmissionState.PASSED
    assert counts(waiting) == (1, 1)
    # The new one needs two markers.
    mark(app, s, s.assessor, fresh, PASS)
    sub = sub_of(fresh)
    assert sub.state == SubmissionState.IN_REVIEW and sub.waiting_for == WaitingFor.MARKER
    assert counts(fresh) == (0, 0)
    assessor = signed_in(app, "sue@example.org")
    page = assessor.get(f"/o/{s.org.slug}/review/{fresh}").get_data(as_text=True)
    assert "Double marking: score every element independently" in page
    mark(app, s, s.assessor2, fresh, PASS)
    assert sub_of(fresh).state == SubmissionState.PASSED and counts(fresh) == (1, 1)

    # Both versions are kept, and the settings page lists them.
    rows = list(
        db.session.scalars(
            select(MarkingPlanVersion)
            .where(MarkingPlanVersion.credential_id == s.credential.id)
            .order_by(MarkingPlanVersion.version)
        )
    )
    assert [(r.version, r.mode, r.is_blind) for r in rows] == [
        (1, "single", False),
        (2, "double", True),
    ]
    assert rows[0].created_by_id == s.admin.id
    html = admin.get(page_url).get_data(as_text=True)
    history = html.split('id="plan-history"', 1)[1]
    assert 'id="plan-v1"' in history and 'id="plan-v2"' in history
    v2 = history.split('id="plan-v2"', 1)[1].split("</tr>", 1)[0]
    assert "in force" in v2 and "Double, blind" in v2 and "Ada Admin" in v2


def test_unconfigured_credential_pins_the_default_plan(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    waiting = submitted(app, s)  # no settings saved yet: the default plan, version 0
    configure(app, s, mode=MarkingMode.DOUBLE)
    assert sub_of(waiting).marking_plan_version == 0
    mark(app, s, s.assessor, waiting, PASS)
    assert sub_of(waiting).state == SubmissionState.PASSED and counts(waiting) == (1, 1)


def test_sampling_follows_the_submitted_plan_and_the_audit_names_its_version(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    configure(app, s, iqa_rate=100, iqa_mode=VerificationMode.HOLD)
    waiting = submitted(app, s)
    configure(app, s, iqa_rate=0, iqa_mode=VerificationMode.AFTER)  # version 2: no sampling
    mark(app, s, s.assessor, waiting, PASS)
    # Version 1 held every decision for the internal verifier: it still does for this one.
    sub = sub_of(waiting)
    assert sub.waiting_for == WaitingFor.VERIFIER and counts(waiting) == (0, 0)
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.mode == VerificationMode.HOLD
    admin = signed_in(app, "admin@example.org")
    trail = admin.get(f"/o/{s.org.slug}/submissions/{waiting}/history").get_data(as_text=True)
    assert "under marking plan version 1 (random draw" in trail
    # Rows from before plans were versioned follow the current settings.
    with app.test_request_context():
        sub = access.get_submission(waiting)
        sub.marking_plan_version = None
        assert marking_plans.plan_for(sub).version == 2
        db.session.rollback()
