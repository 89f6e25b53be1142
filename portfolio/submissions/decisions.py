"""An assessor's own past decisions, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.extensions import db
from portfolio.submissions.models import Review, Submission

#: One page of decisions; older ones are reached through the reports.
PAGE_SIZE = 100


def my_decisions(assessor: User, org: Organization) -> list[Review]:
    """The decisions `assessor` recorded in `org`, newest first (a fixed number of queries)."""
    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    return list(
        db.session.scalars(
            select(Review)
            .join(Submission, Submission.id == Review.submission_id)
            .where(Review.assessor_id == assessor.id, Submission.organization_id == org.id)
            .options(
                selectinload(Review.submission).selectinload(Submission.credential),
                selectinload(Review.submission).selectinload(Submission.learner),
            )
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(PAGE_SIZE)
        )
    )
