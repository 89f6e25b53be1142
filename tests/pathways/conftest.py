"""Three published component credentials, a worker, and a way to grant badges at chosen times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from portfolio.accounts.models import Organization, Role, User
from portfolio.awards import issuance
from portfolio.awards.models import Award
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.pathways import services as pathways
from portfolio.submissions.models import Review, Submission, SubmissionState
from tests.submissions.conftest import build_credential, build_version

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """The time the issuance and pathway services see."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = T0
        monkeypatch.setattr(issuance, "utcnow", lambda: self.now)
        monkeypatch.setattr(pathways, "utcnow", lambda: self.now)

    def at(self, days: float) -> datetime:
        self.now = T0 + timedelta(days=days)
        return self.now


@dataclass
class Stack:
    org: Organization
    admin: User
    assessor: User
    worker: User
    creds: list[Credential]
    clock: Clock

    def grant(
        self, cred: Credential, *, day: float = 0, worker: User | None = None, commit: bool = True
    ) -> Award:
        """Pass a submission of `cred` on `day` and issue its badge (as the review service does),
        then commit (or, with `commit=False`, roll the whole transaction back)."""
        self.clock.at(day)
        learner = worker or self.worker
        attempt = (
            db.session.query(Submission)
            .filter_by(learner_id=learner.id, credential_id=cred.id)
            .count()
            + 1
        )
        sub = Submission(
            learner_id=learner.id,
            organization_id=cred.organization_id,
            credential_id=cred.id,
            rubric_version_id=cred.rubric_version_id,
            attempt=attempt,
            state=SubmissionState.PASSED,
            submitted_at=self.clock.now,
            decided_at=self.clock.now,
        )
        db.session.add(sub)
        db.session.flush()
        review = Review(
            submission_id=sub.id,
            assessor_id=self.assessor.id,
            outcome="pass",
            total_points=Decimal(6),
            created_at=self.clock.now,
        )
        db.session.add(review)
        db.session.flush()
        award = issuance.award_credential(sub, review)
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
        return award

    def pathway(self, creds: list[Credential] | None = None, **kwargs: Any) -> pathways.Pathway:
        data = pathways.PathwayInput(
            name=kwargs.pop("name", "Welding Certificate"),
            component_ids=[c.public_id for c in (creds or self.creds)],
            **kwargs,
        )
        pathway = pathways.create_pathway(self.admin, self.org, data)
        db.session.commit()
        return pathway


@pytest.fixture
def stack(app, make, monkeypatch) -> Stack:  # type: ignore[no-untyped-def]
    org = make.org("Acme Welding", slug="acme", email="badges@acme.example")
    admin = make.user((org, Role.ADMIN), email="admin@example.org", name="Ada Admin")
    assessor = make.user((org, Role.ASSESSOR), email="sam@example.org", name="Sam Assessor")
    worker = make.user((org, Role.LEARNER), email="wren@example.org", name="Wren Worker")
    version = build_version(org, admin)
    creds = [
        build_credential(org, version, name=name)
        for name in ("Fillet Welding", "Butt Welding", "Pipe Welding")
    ]
    db.session.commit()
    return Stack(org, admin, assessor, worker, creds, Clock(monkeypatch))
